/*
 * A tiny assertion kit for the C tests.
 *
 * Every CHECK* macro counts one check; a failing one prints where it is
 * (file:line), what was checked and this thread's last error message from
 * the library, then lets the test continue so that one run reports every
 * failure. Each macro is an expression that yields true if the check
 * passed, so a test can stop early: `if (!CHECK_OK(call)) return;`.
 *
 * main() ends with `return check_summary("name");`, which prints the totals
 * and returns nonzero if any check failed.
 */
#ifndef CODOMYRMEX_TEST_CHECK_H
#define CODOMYRMEX_TEST_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codomyrmex_keys.h"

/* CHECK(cond): cond must be true. */
#define CHECK(cond) check_true(__FILE__, __LINE__, #cond, (cond) ? true : false)

/* CHECK_STATUS(call, expected): call (evaluated once) must return expected. */
#define CHECK_STATUS(call, expected) \
    check_status(__FILE__, __LINE__, #call, (call), (expected))

/* CHECK_OK(call): call must return CODOMYRMEX_OK. */
#define CHECK_OK(call) CHECK_STATUS(call, CODOMYRMEX_OK)

/* CHECK_SIZE(actual, expected): two sizes must be equal (both are printed). */
#define CHECK_SIZE(actual, expected) \
    check_size(__FILE__, __LINE__, #actual, (size_t)(actual), (size_t)(expected))

/* CHECK_INT(actual, expected): two signed integers must be equal (both are
 * printed; a file mode is printed in octal too). */
#define CHECK_INT(actual, expected) \
    check_int(__FILE__, __LINE__, #actual, (long long)(actual), (long long)(expected))

/* CHECK_BYTES(actual, expected, len): len bytes must be equal. */
#define CHECK_BYTES(actual, expected, len) \
    check_bytes(__FILE__, __LINE__, #actual, (actual), (expected), (len))

/* CHECK_STR(actual, expected): two NUL-terminated strings must be equal. */
#define CHECK_STR(actual, expected) \
    check_str(__FILE__, __LINE__, #actual, (actual), (expected))

/* CHECK_FILLED(buf, len, byte): every byte of buf must still be `byte`
 * (used to prove that a failing call left its output untouched). */
#define CHECK_FILLED(buf, len, byte) \
    check_filled(__FILE__, __LINE__, #buf, (buf), (len), (byte))

bool check_true(const char *file, int line, const char *expr, bool ok);
bool check_status(const char *file, int line, const char *call,
                  codomyrmex_status actual, codomyrmex_status expected);
bool check_size(const char *file, int line, const char *expr,
                size_t actual, size_t expected);
bool check_int(const char *file, int line, const char *expr,
               long long actual, long long expected);
bool check_bytes(const char *file, int line, const char *expr,
                 const void *actual, const void *expected, size_t len);
bool check_str(const char *file, int line, const char *expr,
               const char *actual, const char *expected);
bool check_filled(const char *file, int line, const char *expr,
                  const void *buf, size_t len, unsigned char byte);

/* Prints a short context line ("== name") that precedes any failure
 * reports of the checks that follow it. */
void check_section(const char *name);

/* Number of checks that failed so far. */
unsigned long check_failures(void);

/* Prints "<program>: N checks, M failed" and returns the exit status for
 * main: 0 if every check passed, 1 otherwise. */
int check_summary(const char *program);

#endif /* CODOMYRMEX_TEST_CHECK_H */
