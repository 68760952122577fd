/*
 * Library-wide functions: codomyrmex_version, codomyrmex_status_name,
 * codomyrmex_last_error_message, codomyrmex_random_bytes and
 * codomyrmex_secure_zero.
 */
#define _XOPEN_SOURCE 700

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codomyrmex_keys.h"

#ifndef CODOMYRMEX_CARGO_VERSION
#error "the build must define CODOMYRMEX_CARGO_VERSION (the version in Cargo.toml)"
#endif

/* Makes the calling thread's last call fail with a known message. */
static void fail_on_purpose(void)
{
    codomyrmex_hash_alg alg = 0;

    (void)codomyrmex_hash_alg_from_name("no-such-hash", &alg);
}

static void test_version(void)
{
    char expected[64];
    const char *version = codomyrmex_version();

    check_section("version");
    snprintf(expected, sizeof expected, "%d.%d.%d", CODOMYRMEX_VERSION_MAJOR,
             CODOMYRMEX_VERSION_MINOR, CODOMYRMEX_VERSION_PATCH);
    CHECK(version != NULL);
    CHECK_STR(version, expected);
    CHECK_STR(version, CODOMYRMEX_CARGO_VERSION);
    /* Static: the same pointer every time. */
    CHECK(codomyrmex_version() == version);
}

static void test_status_names(void)
{
    static const struct {
        codomyrmex_status status;
        unsigned value;
        const char *name;
    } statuses[] = {
        {CODOMYRMEX_OK, 0, "CODOMYRMEX_OK"},
        {CODOMYRMEX_ERR_NULL_POINTER, 1, "CODOMYRMEX_ERR_NULL_POINTER"},
        {CODOMYRMEX_ERR_INVALID_ARGUMENT, 2, "CODOMYRMEX_ERR_INVALID_ARGUMENT"},
        {CODOMYRMEX_ERR_INVALID_KEY_ID, 3, "CODOMYRMEX_ERR_INVALID_KEY_ID"},
        {CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM, 4, "CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM"},
        {CODOMYRMEX_ERR_BUFFER_TOO_SMALL, 5, "CODOMYRMEX_ERR_BUFFER_TOO_SMALL"},
        {CODOMYRMEX_ERR_NOT_FOUND, 6, "CODOMYRMEX_ERR_NOT_FOUND"},
        {CODOMYRMEX_ERR_ALREADY_EXISTS, 7, "CODOMYRMEX_ERR_ALREADY_EXISTS"},
        {CODOMYRMEX_ERR_VERIFY_FAILED, 8, "CODOMYRMEX_ERR_VERIFY_FAILED"},
        {CODOMYRMEX_ERR_IO, 9, "CODOMYRMEX_ERR_IO"},
        {CODOMYRMEX_ERR_INSECURE_PERMISSIONS, 10, "CODOMYRMEX_ERR_INSECURE_PERMISSIONS"},
        {CODOMYRMEX_ERR_CORRUPT, 11, "CODOMYRMEX_ERR_CORRUPT"},
        {CODOMYRMEX_ERR_INTERNAL, 12, "CODOMYRMEX_ERR_INTERNAL"},
    };
    static const uint32_t unknown[] = {13, 14, 99, 255, 256, 0x7FFFFFFFu, 0x80000000u,
                                       0xFFFFFFFFu};
    size_t i;

    check_section("status_name");
    for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        /* The values are part of the ABI. */
        CHECK_SIZE((unsigned)statuses[i].status, statuses[i].value);
        CHECK_STR(codomyrmex_status_name((uint32_t)statuses[i].status), statuses[i].name);
    }
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_STR(codomyrmex_status_name(unknown[i]), "CODOMYRMEX_UNKNOWN_STATUS");
    }
    /* Static strings: the same pointer every time. */
    CHECK(codomyrmex_status_name(6) == codomyrmex_status_name(6));
    CHECK(codomyrmex_status_name(99) == codomyrmex_status_name(1000));
}

/* Thread body: reports the last error length a brand-new thread sees, then
 * fails on purpose and reports the new length. */
struct thread_report {
    size_t fresh_len;
    size_t fresh_written; /* whether the buffer was touched */
    size_t after_failure_len;
};

static void *fresh_thread(void *arg)
{
    struct thread_report *report = arg;
    char buf[16];

    memset(buf, 'x', sizeof buf);
    report->fresh_len = codomyrmex_last_error_message(buf, sizeof buf);
    /* "Nothing" is an empty string: the NUL is written, nothing else. */
    report->fresh_written = (size_t)(buf[0] == '\0' && buf[1] == 'x');
    (void)codomyrmex_random_bytes(NULL, 1); /* NULL_POINTER */
    report->after_failure_len = codomyrmex_last_error_message(NULL, 0);
    return NULL;
}

static void test_last_error(void)
{
    struct thread_report report;
    pthread_t thread;
    char full[512];
    char small[8];
    char one[1];
    size_t len;
    size_t i;
    uint8_t random_buf[4];

    check_section("last_error_message");

    /* A thread that has had no failure has no message. */
    memset(&report, 0, sizeof report);
    CHECK(pthread_create(&thread, NULL, fresh_thread, &report) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK_SIZE(report.fresh_len, 0);
    CHECK(report.fresh_written == 1);
    CHECK(report.after_failure_len > 0);

    /* This thread: fail, then read the message in full. */
    fail_on_purpose();
    len = codomyrmex_last_error_message(NULL, 0);
    CHECK(len > 0);
    CHECK(len < sizeof full);
    memset(full, 'x', sizeof full);
    CHECK_SIZE(codomyrmex_last_error_message(full, sizeof full), len);
    CHECK_SIZE(strlen(full), len);
    CHECK(strstr(full, "no-such-hash") != NULL);
    CHECK(strchr(full, '\n') == NULL);

    /* The other thread's failure did not touch this thread's message, and
     * this thread's message is not visible there (checked above). */

    /* snprintf-style truncation: cap-1 bytes and a NUL; full length back. */
    memset(small, 'x', sizeof small);
    CHECK_SIZE(codomyrmex_last_error_message(small, sizeof small), len);
    CHECK_SIZE(strlen(small), sizeof small - 1);
    CHECK_BYTES(small, full, sizeof small - 1);

    one[0] = 'x';
    CHECK_SIZE(codomyrmex_last_error_message(one, 1), len);
    CHECK(one[0] == '\0');

    /* cap == 0 writes nothing, even with a buffer. */
    small[0] = 'x';
    CHECK_SIZE(codomyrmex_last_error_message(small, 0), len);
    CHECK(small[0] == 'x');

    /* Exactly fitting: len bytes and the NUL. */
    {
        char *exact = malloc(len + 1);

        CHECK(exact != NULL);
        if (exact != NULL) {
            memset(exact, 'x', len + 1);
            CHECK_SIZE(codomyrmex_last_error_message(exact, len + 1), len);
            CHECK_STR(exact, full);
            /* One byte short: truncated by one. */
            memset(exact, 'x', len + 1);
            CHECK_SIZE(codomyrmex_last_error_message(exact, len), len);
            CHECK_SIZE(strlen(exact), len - 1);
            free(exact);
        }
    }

    /* Reading does not clear it. */
    for (i = 0; i < 3; i++) {
        char again[512];

        CHECK_SIZE(codomyrmex_last_error_message(again, sizeof again), len);
        CHECK_STR(again, full);
    }

    /* Successful calls do not change it. */
    CHECK_OK(codomyrmex_random_bytes(random_buf, sizeof random_buf));
    CHECK(codomyrmex_hash_digest_len(CODOMYRMEX_SHA256) == 32);
    {
        char after[512];

        CHECK_SIZE(codomyrmex_last_error_message(after, sizeof after), len);
        CHECK_STR(after, full);
    }

    /* A new failure replaces it. */
    CHECK_STATUS(codomyrmex_random_bytes(NULL, 3), CODOMYRMEX_ERR_NULL_POINTER);
    {
        char replaced[512];

        codomyrmex_last_error_message(replaced, sizeof replaced);
        CHECK(strstr(replaced, "no-such-hash") == NULL);
        CHECK(strstr(replaced, "buf") != NULL);
    }
}

static void test_random_bytes(void)
{
    uint8_t a[64];
    uint8_t b[64];
    uint8_t zeros[64];
    uint8_t *big;
    size_t big_len = 1u << 20;
    size_t i;
    size_t counts[256];

    check_section("random_bytes");
    memset(zeros, 0, sizeof zeros);
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    CHECK_OK(codomyrmex_random_bytes(a, sizeof a));
    CHECK_OK(codomyrmex_random_bytes(b, sizeof b));
    CHECK(memcmp(a, zeros, sizeof a) != 0);
    CHECK(memcmp(a, b, sizeof a) != 0);

    /* (NULL, 0) and (buf, 0) are empty requests; (NULL, n) is refused. */
    CHECK_OK(codomyrmex_random_bytes(NULL, 0));
    memset(a, 0x5A, sizeof a);
    CHECK_OK(codomyrmex_random_bytes(a, 0));
    CHECK_FILLED(a, sizeof a, 0x5A);
    CHECK_STATUS(codomyrmex_random_bytes(NULL, 1), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_random_bytes(NULL, SIZE_MAX), CODOMYRMEX_ERR_NULL_POINTER);

    /* A large request is filled completely: every byte value shows up and
     * no value is wildly over-represented (expected 4096 each). */
    big = malloc(big_len);
    CHECK(big != NULL);
    if (big != NULL) {
        memset(counts, 0, sizeof counts);
        CHECK_OK(codomyrmex_random_bytes(big, big_len));
        for (i = 0; i < big_len; i++) {
            counts[big[i]]++;
        }
        for (i = 0; i < 256; i++) {
            CHECK(counts[i] > 3000 && counts[i] < 5200);
        }
        free(big);
    }
}

static void test_secure_zero(void)
{
    uint8_t buf[100];
    size_t i;

    check_section("secure_zero");
    for (i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)(i + 1);
    }
    codomyrmex_secure_zero(buf + 10, 50);
    for (i = 0; i < sizeof buf; i++) {
        if (i >= 10 && i < 60) {
            CHECK(buf[i] == 0);
        } else {
            CHECK(buf[i] == (uint8_t)(i + 1));
        }
    }
    /* Length 0 touches nothing; NULL does nothing (with any length). */
    codomyrmex_secure_zero(buf, 0);
    CHECK(buf[0] == 1);
    codomyrmex_secure_zero(NULL, 0);
    codomyrmex_secure_zero(NULL, 16);
    CHECK(1); /* reached: no crash */
}

int main(void)
{
    test_version();
    test_status_names();
    test_last_error();
    test_random_bytes();
    test_secure_zero();
    return check_summary("test_library");
}
