/*
 * HKDF: codomyrmex_hkdf_derive, codomyrmex_hkdf_extract and
 * codomyrmex_hkdf_expand.
 *
 * Known answers come from RFC 5869 (test cases 1-3; cases 4-7 use SHA-1,
 * which this library does not offer) and from the Wycheproof vectors that
 * the build converts to C (wycheproof_hkdf_vectors.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codomyrmex_keys.h"
#include "test_util.h"
#include "wycheproof_hkdf_vectors.h"

static const codomyrmex_hash_alg ALGS[3] = {CODOMYRMEX_SHA256, CODOMYRMEX_SHA384,
                                            CODOMYRMEX_SHA512};
static const char *const ALG_NAMES[3] = {"SHA-256", "SHA-384", "SHA-512"};
static const codomyrmex_hash_alg BAD_ALGS[4] = {0, 4, 99, 0xFFFFFFFFu};

/* The largest output: 255 * HashLen (8160, 12240, 16320 bytes). */
#define MAX_OKM (255 * CODOMYRMEX_MAX_DIGEST_LEN)

/* ---------------------------------------------------------------------------
 * RFC 5869, appendix A, test cases 1-3 (HKDF-SHA-256).
 */
struct rfc5869_case {
    int number;
    const char *ikm_hex;
    const char *salt_hex; /* "" : no salt, passed as (NULL, 0) */
    const char *info_hex; /* "" : passed as (NULL, 0) */
    size_t length;
    const char *prk_hex;
    const char *okm_hex;
};

static const struct rfc5869_case RFC5869[] = {
    {1, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "000102030405060708090a0b0c",
     "f0f1f2f3f4f5f6f7f8f9",
     42,
     "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
     "34007208d5b887185865"},
    {2,
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
     "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
     "404142434445464748494a4b4c4d4e4f",
     "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
     "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
     "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
     "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
     "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
     82,
     "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
     "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
     "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
     "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
    {3, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "",
     "",
     42,
     "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
     "9d201395faa4b61a96c8"},
};

static void test_rfc5869(void)
{
    size_t c;

    check_section("RFC 5869 test cases 1-3 (SHA-256)");
    for (c = 0; c < sizeof RFC5869 / sizeof RFC5869[0]; c++) {
        const struct rfc5869_case *tc = &RFC5869[c];
        uint8_t ikm[100];
        uint8_t salt[100];
        uint8_t info[100];
        uint8_t prk[CODOMYRMEX_MAX_DIGEST_LEN];
        uint8_t okm[100];
        uint8_t got[100];
        uint8_t got_prk[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t ikm_len = hex_decode(tc->ikm_hex, ikm, sizeof ikm);
        size_t salt_len = hex_decode(tc->salt_hex, salt, sizeof salt);
        size_t info_len = hex_decode(tc->info_hex, info, sizeof info);
        size_t prk_len = hex_decode(tc->prk_hex, prk, sizeof prk);
        size_t okm_len = hex_decode(tc->okm_hex, okm, sizeof okm);
        /* An empty salt or info is passed as (NULL, 0). */
        const uint8_t *salt_ptr = salt_len != 0 ? salt : NULL;
        const uint8_t *info_ptr = info_len != 0 ? info : NULL;
        size_t got_prk_len = 0;
        unsigned long failures = check_failures();

        CHECK_SIZE(okm_len, tc->length);
        memset(got, 0, sizeof got);
        CHECK_OK(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, ikm, ikm_len, salt_ptr, salt_len,
                                        info_ptr, info_len, got, tc->length));
        CHECK_BYTES(got, okm, okm_len);

        CHECK_OK(codomyrmex_hkdf_extract(CODOMYRMEX_SHA256, salt_ptr, salt_len, ikm, ikm_len,
                                         got_prk, sizeof got_prk, &got_prk_len));
        CHECK_SIZE(got_prk_len, prk_len);
        CHECK_BYTES(got_prk, prk, prk_len);

        memset(got, 0, sizeof got);
        CHECK_OK(codomyrmex_hkdf_expand(CODOMYRMEX_SHA256, prk, prk_len, info_ptr, info_len,
                                        got, tc->length));
        CHECK_BYTES(got, okm, okm_len);
        if (check_failures() != failures) {
            fprintf(stderr, "    in RFC 5869 test case %d\n", tc->number);
        }
    }
}

/* ---------------------------------------------------------------------------
 * Wycheproof: valid vectors derive their okm (in one call, and through
 * extract + expand); invalid ones ask for 255*HashLen+1 bytes and must be
 * refused with INVALID_ARGUMENT, the output untouched.
 */
static void test_wycheproof(void)
{
    size_t per_alg[3] = {0, 0, 0};
    size_t invalid_per_alg[3] = {0, 0, 0};
    size_t i;
    uint8_t *okm = malloc(MAX_OKM + 1);

    check_section("Wycheproof HKDF vectors");
    if (!CHECK(okm != NULL)) {
        return;
    }
    CHECK_SIZE(WYCHEPROOF_HKDF_FILE_COUNT, 3);
    for (i = 0; i < WYCHEPROOF_HKDF_TEST_COUNT; i++) {
        const struct wycheproof_hkdf_test *t = &wycheproof_hkdf_tests[i];
        size_t digest = codomyrmex_hash_digest_len(t->alg);
        uint8_t prk[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t prk_len = 0;
        unsigned long failures = check_failures();

        per_alg[t->alg - 1]++;
        if (!CHECK(t->size <= MAX_OKM + 1)) {
            continue;
        }
        CHECK_OK(codomyrmex_hkdf_extract(t->alg, t->salt.data, t->salt.len, t->ikm.data,
                                         t->ikm.len, prk, sizeof prk, &prk_len));
        CHECK_SIZE(prk_len, digest);
        if (t->valid) {
            CHECK_SIZE(t->okm.len, t->size);
            memset(okm, 0, t->size);
            CHECK_OK(codomyrmex_hkdf_derive(t->alg, t->ikm.data, t->ikm.len, t->salt.data,
                                            t->salt.len, t->info.data, t->info.len, okm,
                                            t->size));
            CHECK_BYTES(okm, t->okm.data, t->size);
            memset(okm, 0, t->size);
            CHECK_OK(codomyrmex_hkdf_expand(t->alg, prk, prk_len, t->info.data, t->info.len,
                                            okm, t->size));
            CHECK_BYTES(okm, t->okm.data, t->size);
        } else {
            invalid_per_alg[t->alg - 1]++;
            CHECK(strstr(t->flags, "SizeTooLarge") != NULL);
            CHECK_SIZE(t->size, 255 * digest + 1);
            memset(okm, 0xA5, t->size);
            CHECK_STATUS(codomyrmex_hkdf_derive(t->alg, t->ikm.data, t->ikm.len, t->salt.data,
                                                t->salt.len, t->info.data, t->info.len, okm,
                                                t->size),
                         CODOMYRMEX_ERR_INVALID_ARGUMENT);
            CHECK_FILLED(okm, t->size, 0xA5);
            CHECK_STATUS(codomyrmex_hkdf_expand(t->alg, prk, prk_len, t->info.data,
                                                t->info.len, okm, t->size),
                         CODOMYRMEX_ERR_INVALID_ARGUMENT);
            CHECK_FILLED(okm, t->size, 0xA5);
        }
        if (check_failures() != failures) {
            fprintf(stderr, "    in %s tcId %u (%s; %s; %s)\n", t->file, t->tc_id,
                    t->comment, t->flags, t->valid ? "valid" : "invalid");
        }
    }
    /* No vector was lost on the way from JSON to C. */
    for (i = 0; i < WYCHEPROOF_HKDF_FILE_COUNT; i++) {
        const struct wycheproof_file *f = &wycheproof_hkdf_files[i];

        CHECK_SIZE(per_alg[f->alg - 1], f->number_of_tests);
        CHECK_SIZE(invalid_per_alg[f->alg - 1], 3);
    }
    CHECK_SIZE(per_alg[0], 86);
    CHECK_SIZE(per_alg[1], 83);
    CHECK_SIZE(per_alg[2], 83);
    free(okm);
}

/* ---------------------------------------------------------------------------
 * Output length: 1 ..= 255*HashLen; 0 and 255*HashLen+1 are refused with
 * the output untouched. A shorter output is a prefix of a longer one.
 */
static void test_output_lengths(void)
{
    static const uint8_t ikm[] = "input keying material, high entropy in real use";
    static const uint8_t salt[] = "salt";
    static const uint8_t info[] = "context";
    uint8_t *okm = malloc(MAX_OKM + 1);
    uint8_t *longest = malloc(MAX_OKM);
    size_t a;

    check_section("output lengths");
    if (!CHECK(okm != NULL && longest != NULL)) {
        free(okm);
        free(longest);
        return;
    }
    for (a = 0; a < 3; a++) {
        size_t digest = codomyrmex_hash_digest_len(ALGS[a]);
        size_t max = 255 * digest;
        uint8_t prk[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t prk_len = 0;
        static const size_t lengths[] = {1, 2, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100, 1000};
        size_t l;

        CHECK_OK(codomyrmex_hkdf_extract(ALGS[a], salt, sizeof salt, ikm, sizeof ikm, prk,
                                         sizeof prk, &prk_len));

        /* 0: refused, with NULL or a real buffer. */
        CHECK_STATUS(codomyrmex_hkdf_derive(ALGS[a], ikm, sizeof ikm, salt, sizeof salt, info,
                                            sizeof info, NULL, 0),
                     CODOMYRMEX_ERR_INVALID_ARGUMENT);
        okm[0] = 0xA5;
        CHECK_STATUS(codomyrmex_hkdf_derive(ALGS[a], ikm, sizeof ikm, salt, sizeof salt, info,
                                            sizeof info, okm, 0),
                     CODOMYRMEX_ERR_INVALID_ARGUMENT);
        CHECK(okm[0] == 0xA5);
        CHECK_STATUS(codomyrmex_hkdf_expand(ALGS[a], prk, prk_len, info, sizeof info, NULL, 0),
                     CODOMYRMEX_ERR_INVALID_ARGUMENT);
        CHECK_STATUS(codomyrmex_hkdf_expand(ALGS[a], prk, prk_len, info, sizeof info, okm, 0),
                     CODOMYRMEX_ERR_INVALID_ARGUMENT);
        CHECK(okm[0] == 0xA5);

        /* 255*HashLen: the longest accepted. */
        memset(longest, 0, max);
        CHECK_OK(codomyrmex_hkdf_derive(ALGS[a], ikm, sizeof ikm, salt, sizeof salt, info,
                                        sizeof info, longest, max));
        memset(okm, 0, max);
        CHECK_OK(codomyrmex_hkdf_expand(ALGS[a], prk, prk_len, info, sizeof info, okm, max));
        CHECK_BYTES(okm, longest, max);

        /* 255*HashLen + 1: refused, untouched. */
        memset(okm, 0xA5, max + 1);
        CHECK_STATUS(codomyrmex_hkdf_derive(ALGS[a], ikm, sizeof ikm, salt, sizeof salt, info,
                                            sizeof info, okm, max + 1),
                     CODOMYRMEX_ERR_INVALID_ARGUMENT);
        CHECK_FILLED(okm, max + 1, 0xA5);
        CHECK_STATUS(codomyrmex_hkdf_expand(ALGS[a], prk, prk_len, info, sizeof info, okm,
                                            max + 1),
                     CODOMYRMEX_ERR_INVALID_ARGUMENT);
        CHECK_FILLED(okm, max + 1, 0xA5);

        /* Shorter outputs are prefixes of the longest, and nothing past
         * okm_len is written. */
        for (l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
            memset(okm, 0xA5, lengths[l] + 8);
            CHECK_OK(codomyrmex_hkdf_derive(ALGS[a], ikm, sizeof ikm, salt, sizeof salt, info,
                                            sizeof info, okm, lengths[l]));
            CHECK_BYTES(okm, longest, lengths[l]);
            CHECK_FILLED(okm + lengths[l], 8, 0xA5);
        }
    }
    free(okm);
    free(longest);
}

/* ---------------------------------------------------------------------------
 * expand needs a PRK of at least HashLen bytes; a longer one is accepted.
 */
static void test_prk_length(void)
{
    uint8_t prk[CODOMYRMEX_MAX_DIGEST_LEN + 16];
    uint8_t okm[64];
    uint64_t rng = 42;
    size_t a;

    check_section("expand: PRK length");
    test_rand_fill(&rng, prk, sizeof prk);
    for (a = 0; a < 3; a++) {
        size_t digest = codomyrmex_hash_digest_len(ALGS[a]);
        size_t short_lengths[4];
        size_t s;

        short_lengths[0] = 0;
        short_lengths[1] = 1;
        short_lengths[2] = digest / 2;
        short_lengths[3] = digest - 1;
        for (s = 0; s < 4; s++) {
            memset(okm, 0xA5, sizeof okm);
            CHECK_STATUS(codomyrmex_hkdf_expand(ALGS[a], short_lengths[s] ? prk : NULL,
                                                short_lengths[s], NULL, 0, okm, sizeof okm),
                         CODOMYRMEX_ERR_INVALID_ARGUMENT);
            CHECK_FILLED(okm, sizeof okm, 0xA5);
        }
        CHECK_OK(codomyrmex_hkdf_expand(ALGS[a], prk, digest, NULL, 0, okm, sizeof okm));
        CHECK_OK(codomyrmex_hkdf_expand(ALGS[a], prk, digest + 16, NULL, 0, okm, sizeof okm));
    }
}

/* ---------------------------------------------------------------------------
 * No salt: (NULL, 0), (ptr, 0) and HashLen zero bytes are the same salt.
 */
static void test_salt_forms(void)
{
    static const uint8_t ikm[] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
    static const uint8_t zeros[CODOMYRMEX_MAX_DIGEST_LEN] = {0};
    size_t a;

    check_section("NULL salt == empty salt == HashLen zero bytes");
    for (a = 0; a < 3; a++) {
        size_t digest = codomyrmex_hash_digest_len(ALGS[a]);
        uint8_t okm_null[77];
        uint8_t okm_empty[77];
        uint8_t okm_zeros[77];
        uint8_t okm_other[77];
        uint8_t prk_null[CODOMYRMEX_MAX_DIGEST_LEN];
        uint8_t prk_zeros[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t prk_null_len = 0;
        size_t prk_zeros_len = 0;

        CHECK_OK(codomyrmex_hkdf_derive(ALGS[a], ikm, sizeof ikm, NULL, 0, NULL, 0, okm_null,
                                        sizeof okm_null));
        CHECK_OK(codomyrmex_hkdf_derive(ALGS[a], ikm, sizeof ikm, zeros, 0, NULL, 0, okm_empty,
                                        sizeof okm_empty));
        CHECK_OK(codomyrmex_hkdf_derive(ALGS[a], ikm, sizeof ikm, zeros, digest, NULL, 0,
                                        okm_zeros, sizeof okm_zeros));
        CHECK_BYTES(okm_empty, okm_null, sizeof okm_null);
        CHECK_BYTES(okm_zeros, okm_null, sizeof okm_null);
        /* A different salt does make a difference. */
        CHECK_OK(codomyrmex_hkdf_derive(ALGS[a], ikm, sizeof ikm, ikm, sizeof ikm, NULL, 0,
                                        okm_other, sizeof okm_other));
        CHECK(memcmp(okm_other, okm_null, sizeof okm_null) != 0);

        CHECK_OK(codomyrmex_hkdf_extract(ALGS[a], NULL, 0, ikm, sizeof ikm, prk_null,
                                         sizeof prk_null, &prk_null_len));
        CHECK_OK(codomyrmex_hkdf_extract(ALGS[a], zeros, digest, ikm, sizeof ikm, prk_zeros,
                                         sizeof prk_zeros, &prk_zeros_len));
        CHECK_SIZE(prk_null_len, digest);
        CHECK_SIZE(prk_zeros_len, digest);
        CHECK_BYTES(prk_zeros, prk_null, digest);
    }
}

/* ---------------------------------------------------------------------------
 * extract + expand == derive, for many random inputs of every size class.
 */
static void test_extract_expand_equals_derive(void)
{
    uint64_t rng = UINT64_C(0xC0FFEE);
    size_t a;
    int round;

    check_section("extract + expand == derive");
    for (a = 0; a < 3; a++) {
        for (round = 0; round < 60; round++) {
            uint8_t ikm[300];
            uint8_t salt[300];
            uint8_t info[300];
            uint8_t prk[CODOMYRMEX_MAX_DIGEST_LEN];
            uint8_t one[600];
            uint8_t two[600];
            size_t ikm_len = (size_t)(test_rand(&rng) % sizeof ikm);
            size_t salt_len = (size_t)(test_rand(&rng) % sizeof salt);
            size_t info_len = (size_t)(test_rand(&rng) % sizeof info);
            size_t okm_len = 1 + (size_t)(test_rand(&rng) % sizeof one);
            size_t prk_len = 0;

            test_rand_fill(&rng, ikm, ikm_len);
            test_rand_fill(&rng, salt, salt_len);
            test_rand_fill(&rng, info, info_len);
            CHECK_OK(codomyrmex_hkdf_derive(ALGS[a], ikm, ikm_len, salt, salt_len, info,
                                            info_len, one, okm_len));
            CHECK_OK(codomyrmex_hkdf_extract(ALGS[a], salt, salt_len, ikm, ikm_len, prk,
                                             sizeof prk, &prk_len));
            CHECK_OK(codomyrmex_hkdf_expand(ALGS[a], prk, prk_len, info, info_len, two,
                                            okm_len));
            if (!CHECK_BYTES(two, one, okm_len)) {
                fprintf(stderr, "    HKDF-%s ikm %zu salt %zu info %zu okm %zu\n",
                        ALG_NAMES[a], ikm_len, salt_len, info_len, okm_len);
            }
        }
    }
}

/* ---------------------------------------------------------------------------
 * extract follows the buffer rule.
 */
static void test_extract_buffer(void)
{
    static const uint8_t ikm[] = "ikm";
    size_t a;

    check_section("extract: buffer rule");
    for (a = 0; a < 3; a++) {
        size_t digest = codomyrmex_hash_digest_len(ALGS[a]);
        uint8_t prk[CODOMYRMEX_MAX_DIGEST_LEN + 8];
        uint8_t expected[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t expected_len = 0;
        size_t prk_len;

        CHECK_OK(codomyrmex_hkdf_extract(ALGS[a], NULL, 0, ikm, sizeof ikm, expected,
                                         sizeof expected, &expected_len));
        memset(prk, 0xA5, sizeof prk);
        prk_len = 999;
        CHECK_STATUS(codomyrmex_hkdf_extract(ALGS[a], NULL, 0, ikm, sizeof ikm, prk,
                                             digest - 1, &prk_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(prk_len, digest);
        CHECK_FILLED(prk, sizeof prk, 0xA5);
        prk_len = 999;
        CHECK_STATUS(codomyrmex_hkdf_extract(ALGS[a], NULL, 0, ikm, sizeof ikm, NULL, 0,
                                             &prk_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(prk_len, digest);
        CHECK_OK(codomyrmex_hkdf_extract(ALGS[a], NULL, 0, ikm, sizeof ikm, prk, sizeof prk,
                                         &prk_len));
        CHECK_SIZE(prk_len, digest);
        CHECK_BYTES(prk, expected, digest);
        CHECK_FILLED(prk + digest, sizeof prk - digest, 0xA5);
    }
}

/* ---------------------------------------------------------------------------
 * NULL arguments and unsupported algorithms; outputs stay untouched.
 */
static void test_bad_arguments(void)
{
    static const uint8_t ikm[] = "ikm";
    static const uint8_t prk[CODOMYRMEX_MAX_DIGEST_LEN] = {1};
    uint8_t okm[32];
    uint8_t prk_out[CODOMYRMEX_MAX_DIGEST_LEN];
    size_t prk_len = 999;
    size_t i;

    check_section("NULL arguments");
    memset(okm, 0xA5, sizeof okm);
    memset(prk_out, 0xA5, sizeof prk_out);
    CHECK_STATUS(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, NULL, 3, NULL, 0, NULL, 0, okm,
                                        sizeof okm),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, ikm, 3, NULL, 3, NULL, 0, okm,
                                        sizeof okm),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, ikm, 3, NULL, 0, NULL, 3, okm,
                                        sizeof okm),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, ikm, 3, NULL, 0, NULL, 0, NULL,
                                        sizeof okm),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_FILLED(okm, sizeof okm, 0xA5);

    CHECK_STATUS(codomyrmex_hkdf_extract(CODOMYRMEX_SHA256, NULL, 3, ikm, 3, prk_out,
                                         sizeof prk_out, &prk_len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hkdf_extract(CODOMYRMEX_SHA256, NULL, 0, NULL, 3, prk_out,
                                         sizeof prk_out, &prk_len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hkdf_extract(CODOMYRMEX_SHA256, NULL, 0, ikm, 3, NULL,
                                         sizeof prk_out, &prk_len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hkdf_extract(CODOMYRMEX_SHA256, NULL, 0, ikm, 3, prk_out,
                                         sizeof prk_out, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(prk_len, 999);
    CHECK_FILLED(prk_out, sizeof prk_out, 0xA5);

    CHECK_STATUS(codomyrmex_hkdf_expand(CODOMYRMEX_SHA256, NULL, 32, NULL, 0, okm,
                                        sizeof okm),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hkdf_expand(CODOMYRMEX_SHA256, prk, 32, NULL, 1, okm, sizeof okm),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hkdf_expand(CODOMYRMEX_SHA256, prk, 32, NULL, 0, NULL,
                                        sizeof okm),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_FILLED(okm, sizeof okm, 0xA5);

    check_section("unsupported algorithm values");
    for (i = 0; i < sizeof BAD_ALGS / sizeof BAD_ALGS[0]; i++) {
        CHECK_STATUS(codomyrmex_hkdf_derive(BAD_ALGS[i], ikm, 3, NULL, 0, NULL, 0, okm,
                                            sizeof okm),
                     CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        CHECK_STATUS(codomyrmex_hkdf_extract(BAD_ALGS[i], NULL, 0, ikm, 3, prk_out,
                                             sizeof prk_out, &prk_len),
                     CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        CHECK_STATUS(codomyrmex_hkdf_extract(BAD_ALGS[i], NULL, 0, ikm, 3, NULL, 0, &prk_len),
                     CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        CHECK_STATUS(codomyrmex_hkdf_expand(BAD_ALGS[i], prk, sizeof prk, NULL, 0, okm,
                                            sizeof okm),
                     CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        CHECK_SIZE(prk_len, 999);
        CHECK_FILLED(okm, sizeof okm, 0xA5);
        CHECK_FILLED(prk_out, sizeof prk_out, 0xA5);
    }
}

int main(void)
{
    test_rfc5869();
    test_wycheproof();
    test_output_lengths();
    test_prk_length();
    test_salt_forms();
    test_extract_expand_equals_derive();
    test_extract_buffer();
    test_bad_arguments();
    return check_summary("test_hkdf");
}
