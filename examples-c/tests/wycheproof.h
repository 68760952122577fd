/*
 * Types of the Wycheproof test vectors that tools/vectors_to_c.py turns into
 * C arrays at build time (wycheproof_hmac_vectors.h and
 * wycheproof_hkdf_vectors.h in the build tree). See
 * tests/data/wycheproof/README.md in the crate for the source files and
 * their schema.
 */
#ifndef CODOMYRMEX_TEST_WYCHEPROOF_H
#define CODOMYRMEX_TEST_WYCHEPROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codomyrmex_keys.h"

/* A byte string; {NULL, 0} when empty. */
struct wycheproof_bytes {
    const uint8_t *data;
    size_t len;
};

/* One input file: its name, algorithm and declared numberOfTests. */
struct wycheproof_file {
    const char *name;
    codomyrmex_hash_alg alg;
    size_t number_of_tests;
};

/* One HMAC test (mac_test_schema_v1.json). */
struct wycheproof_hmac_test {
    const char *file;
    codomyrmex_hash_alg alg;
    unsigned tc_id;
    const char *comment;
    const char *flags;   /* space-separated flag names */
    bool valid;          /* result "valid" (else "invalid") */
    size_t key_bits;     /* group keySize */
    size_t tag_bits;     /* group tagSize: shorter than the digest = truncated */
    struct wycheproof_bytes key;
    struct wycheproof_bytes msg;
    struct wycheproof_bytes tag;
};

/* One HKDF test (hkdf_test_schema_v1.json). */
struct wycheproof_hkdf_test {
    const char *file;
    codomyrmex_hash_alg alg;
    unsigned tc_id;
    const char *comment;
    const char *flags;
    bool valid;
    size_t size;         /* output length in bytes */
    struct wycheproof_bytes ikm;
    struct wycheproof_bytes salt;  /* empty: no salt */
    struct wycheproof_bytes info;
    struct wycheproof_bytes okm;   /* empty for invalid tests */
};

#endif /* CODOMYRMEX_TEST_WYCHEPROOF_H */
