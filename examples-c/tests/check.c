/* The assertion kit declared in check.h. */
#include "check.h"

#include <stdio.h>
#include <string.h>

/* The tests are single-threaded where they check; helper threads only
 * report back through their own variables. */
static unsigned long checks_run;
static unsigned long checks_failed;
static const char *current_section = "";

void check_section(const char *name)
{
    current_section = name;
}

unsigned long check_failures(void)
{
    return checks_failed;
}

/* Counts one check and, if it failed, prints its location and the
 * library's last error message for this thread. */
static bool record(const char *file, int line, bool ok)
{
    checks_run++;
    if (ok) {
        return true;
    }
    checks_failed++;
    fprintf(stderr, "%s:%d: [%s] ", file, line, current_section);
    return false;
}

static void print_last_error(void)
{
    char message[512];
    size_t len = codomyrmex_last_error_message(message, sizeof message);

    if (len == 0) {
        fprintf(stderr, "    last error: (none on this thread)\n");
    } else {
        fprintf(stderr, "    last error: %s%s\n", message,
                len >= sizeof message ? " [truncated]" : "");
    }
}

static void print_hex(const char *label, const unsigned char *bytes,
                      size_t len, size_t from)
{
    size_t i;
    size_t end = from + 32 < len ? from + 32 : len;

    fprintf(stderr, "    %s[%zu..%zu]:", label, from, end);
    for (i = from; i < end; i++) {
        fprintf(stderr, " %02x", bytes[i]);
    }
    fprintf(stderr, "%s\n", end < len ? " ..." : "");
}

bool check_true(const char *file, int line, const char *expr, bool ok)
{
    if (record(file, line, ok)) {
        return true;
    }
    fprintf(stderr, "CHECK(%s) failed\n", expr);
    print_last_error();
    return false;
}

bool check_status(const char *file, int line, const char *call,
                  codomyrmex_status actual, codomyrmex_status expected)
{
    if (record(file, line, actual == expected)) {
        return true;
    }
    fprintf(stderr, "%s\n    returned %s (%u), expected %s (%u)\n", call,
            codomyrmex_status_name((uint32_t)actual), (unsigned)actual,
            codomyrmex_status_name((uint32_t)expected), (unsigned)expected);
    print_last_error();
    return false;
}

bool check_size(const char *file, int line, const char *expr,
                size_t actual, size_t expected)
{
    if (record(file, line, actual == expected)) {
        return true;
    }
    fprintf(stderr, "%s is %zu, expected %zu\n", expr, actual, expected);
    print_last_error();
    return false;
}

bool check_int(const char *file, int line, const char *expr,
               long long actual, long long expected)
{
    if (record(file, line, actual == expected)) {
        return true;
    }
    fprintf(stderr, "%s is %lld (octal %llo), expected %lld (octal %llo)\n", expr, actual,
            (unsigned long long)actual, expected, (unsigned long long)expected);
    print_last_error();
    return false;
}

bool check_bytes(const char *file, int line, const char *expr,
                 const void *actual, const void *expected, size_t len)
{
    const unsigned char *a = actual;
    const unsigned char *e = expected;
    size_t at = 0;

    if (len == 0 || memcmp(a, e, len) == 0) {
        return record(file, line, true);
    }
    record(file, line, false);
    while (a[at] == e[at]) {
        at++;
    }
    fprintf(stderr, "%s differs at byte %zu of %zu\n", expr, at, len);
    print_hex("actual  ", a, len, at);
    print_hex("expected", e, len, at);
    print_last_error();
    return false;
}

bool check_str(const char *file, int line, const char *expr,
               const char *actual, const char *expected)
{
    bool ok = actual != NULL && strcmp(actual, expected) == 0;

    if (record(file, line, ok)) {
        return true;
    }
    fprintf(stderr, "%s is \"%s\", expected \"%s\"\n", expr,
            actual != NULL ? actual : "(NULL)", expected);
    print_last_error();
    return false;
}

bool check_filled(const char *file, int line, const char *expr,
                  const void *buf, size_t len, unsigned char byte)
{
    const unsigned char *b = buf;
    size_t at;

    for (at = 0; at < len; at++) {
        if (b[at] != byte) {
            break;
        }
    }
    if (record(file, line, at == len)) {
        return true;
    }
    fprintf(stderr, "%s was modified: byte %zu of %zu is 0x%02x, not 0x%02x\n",
            expr, at, len, b[at], byte);
    print_last_error();
    return false;
}

int check_summary(const char *program)
{
    printf("%s: %lu checks, %lu failed\n", program, checks_run, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}
