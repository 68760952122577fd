/*
 * Algorithms: codomyrmex_hash_alg_from_name and codomyrmex_hash_digest_len.
 */
#include <stdio.h>

#include "check.h"
#include "codomyrmex_keys.h"

#define SENTINEL_ALG 0xDEADBEEFu

static void test_names(void)
{
    static const struct {
        const char *name;
        codomyrmex_hash_alg alg;
    } good[] = {
        {"sha256", CODOMYRMEX_SHA256},  {"SHA256", CODOMYRMEX_SHA256},
        {"Sha256", CODOMYRMEX_SHA256},  {"sHa256", CODOMYRMEX_SHA256},
        {"SHA-256", CODOMYRMEX_SHA256}, {"sha-256", CODOMYRMEX_SHA256},
        {"sha_256", CODOMYRMEX_SHA256}, {"SHA_256", CODOMYRMEX_SHA256},
        {"sha384", CODOMYRMEX_SHA384},  {"SHA384", CODOMYRMEX_SHA384},
        {"Sha384", CODOMYRMEX_SHA384},  {"SHA-384", CODOMYRMEX_SHA384},
        {"sha-384", CODOMYRMEX_SHA384}, {"Sha_384", CODOMYRMEX_SHA384},
        {"sha512", CODOMYRMEX_SHA512},  {"SHA512", CODOMYRMEX_SHA512},
        {"sHA512", CODOMYRMEX_SHA512},  {"SHA-512", CODOMYRMEX_SHA512},
        {"sha-512", CODOMYRMEX_SHA512}, {"sha_512", CODOMYRMEX_SHA512},
    };
    static const char *const bad[] = {
        "",         "sha",      "sha-",      "sha1",     "SHA-1",   "sha224",
        "sha-224",  "md5",      "sha2-256",  "sha3-256", "SHA3_512", "sha--256",
        "sha-_256", "sha 256",  "sha256 ",   " sha256",  "sha2560",  "sha25",
        "256",      "sha+256",  "sha256\t",  "sha\xc3\xa9" "256", "\xff\xfe", "sha512-",
        "shasha256", "sha.256",
    };
    size_t i;

    check_section("hash_alg_from_name: accepted spellings");
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        codomyrmex_hash_alg alg = SENTINEL_ALG;

        if (!CHECK_OK(codomyrmex_hash_alg_from_name(good[i].name, &alg))) {
            fprintf(stderr, "    name: \"%s\"\n", good[i].name);
        }
        CHECK_SIZE(alg, good[i].alg);
    }

    check_section("hash_alg_from_name: refused names");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        codomyrmex_hash_alg alg = SENTINEL_ALG;

        if (!CHECK_STATUS(codomyrmex_hash_alg_from_name(bad[i], &alg),
                          CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM)) {
            fprintf(stderr, "    name: \"%s\"\n", bad[i]);
        }
        /* *out_alg is set on success only. */
        CHECK_SIZE(alg, SENTINEL_ALG);
    }

    check_section("hash_alg_from_name: NULL arguments");
    {
        codomyrmex_hash_alg alg = SENTINEL_ALG;

        CHECK_STATUS(codomyrmex_hash_alg_from_name(NULL, &alg), CODOMYRMEX_ERR_NULL_POINTER);
        CHECK_SIZE(alg, SENTINEL_ALG);
        CHECK_STATUS(codomyrmex_hash_alg_from_name("sha256", NULL),
                     CODOMYRMEX_ERR_NULL_POINTER);
        CHECK_STATUS(codomyrmex_hash_alg_from_name(NULL, NULL), CODOMYRMEX_ERR_NULL_POINTER);
    }
}

static void test_digest_len(void)
{
    static const codomyrmex_hash_alg unknown[] = {0, 4, 5, 99, 255, 256, 0x80000000u,
                                                  0xFFFFFFFFu};
    size_t i;

    check_section("hash_digest_len");
    CHECK_SIZE(codomyrmex_hash_digest_len(CODOMYRMEX_SHA256), 32);
    CHECK_SIZE(codomyrmex_hash_digest_len(CODOMYRMEX_SHA384), 48);
    CHECK_SIZE(codomyrmex_hash_digest_len(CODOMYRMEX_SHA512), 64);
    CHECK_SIZE(codomyrmex_hash_digest_len(CODOMYRMEX_SHA512), CODOMYRMEX_MAX_DIGEST_LEN);
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_SIZE(codomyrmex_hash_digest_len(unknown[i]), 0);
    }
    /* The constants are part of the ABI. */
    CHECK_SIZE(CODOMYRMEX_SHA256, 1);
    CHECK_SIZE(CODOMYRMEX_SHA384, 2);
    CHECK_SIZE(CODOMYRMEX_SHA512, 3);
}

int main(void)
{
    test_names();
    test_digest_len();
    return check_summary("test_alg");
}
