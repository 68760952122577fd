/*
 * HMAC: codomyrmex_hmac_compute, codomyrmex_hmac_verify and the streaming
 * codomyrmex_hmac_new / _update / _finish / _finish_verify / _free.
 *
 * Known answers come from RFC 4231 (test cases 1-7) and from the Wycheproof
 * vectors that the build converts to C (wycheproof_hmac_vectors.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codomyrmex_keys.h"
#include "test_util.h"
#include "wycheproof_hmac_vectors.h"

static const codomyrmex_hash_alg ALGS[3] = {CODOMYRMEX_SHA256, CODOMYRMEX_SHA384,
                                            CODOMYRMEX_SHA512};
static const char *const ALG_NAMES[3] = {"SHA-256", "SHA-384", "SHA-512"};

/* Values that are not algorithms. */
static const codomyrmex_hash_alg BAD_ALGS[4] = {0, 4, 99, 0xFFFFFFFFu};

/* ---------------------------------------------------------------------------
 * RFC 4231, "Identifiers and Test Vectors for HMAC-SHA-224, HMAC-SHA-256,
 * HMAC-SHA-384, and HMAC-SHA-512", section 4. Test case 5 gives only the
 * first 128 bits of each MAC (truncation), so only that prefix is compared.
 */
struct rfc4231_case {
    int number;
    const char *key_hex;
    const char *data_hex;
    size_t truncated_len; /* 0: the whole MAC is given */
    const char *mac_hex[3]; /* SHA-256, SHA-384, SHA-512 */
};

static const struct rfc4231_case RFC4231[] = {
    {1, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "4869205468657265", /* "Hi There" */
     0,
     {"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
      "faea9ea9076ede7f4af152e8b2fa9cb6",
      "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
      "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"}},
    {2, "4a656665", /* "Jefe" */
     "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
     /* "what do ya want for nothing?" */
     0,
     {"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
      "8e2240ca5e69e2c78b3239ecfab21649",
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
      "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"}},
    {3, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddddddddddddddddddddddddddddddddddd",
     0,
     {"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
      "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
      "2a5ab39dc13814b94e3ab6e101a34f27",
      "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
      "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"}},
    {4, "0102030405060708090a0b0c0d0e0f10111213141516171819",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
     0,
     {"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
      "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
      "6801dd23c4a7d679ccf8a386c674cffb",
      "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
      "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"}},
    {5, "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
     "546573742057697468205472756e636174696f6e", /* "Test With Truncation" */
     16,
     {"a3b6167473100ee06e0c796c2955552b",
      "3abf34c3503b2a23a46efc619baef897",
      "415fad6271580a531d4179bc891d87a6"}},
    {6,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaa", /* 131 bytes: longer than any block */
     "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
     "65204b6579202d2048617368204b6579204669727374",
     /* "Test Using Larger Than Block-Size Key - Hash Key First" */
     0,
     {"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
      "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
      "0c2ef6ab4030fe8296248df163f44952",
      "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
      "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"}},
    {7,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaa",
     "5468697320697320612074657374207573696e672061206c6172676572207468"
     "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
     "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
     "647320746f20626520686173686564206265666f7265206265696e6720757365"
     "642062792074686520484d414320616c676f726974686d2e",
     /* "This is a test using a larger than block-size key and a larger
      *  than block-size data. The key needs to be hashed before being used
      *  by the HMAC algorithm." */
     0,
     {"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
      "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
      "a678cc31e799176d3860e6110c46523e",
      "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
      "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"}},
};

/* MAC of `data` computed through a stream fed in one piece. */
static codomyrmex_status stream_mac(codomyrmex_hash_alg alg, const uint8_t *key,
                                    size_t key_len, const uint8_t *data, size_t data_len,
                                    uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN], size_t *mac_len)
{
    codomyrmex_hmac *ctx = NULL;
    codomyrmex_status status = codomyrmex_hmac_new(alg, key, key_len, &ctx);

    if (status != CODOMYRMEX_OK) {
        return status;
    }
    status = codomyrmex_hmac_update(ctx, data, data_len);
    if (status == CODOMYRMEX_OK) {
        status = codomyrmex_hmac_finish(ctx, mac, CODOMYRMEX_MAX_DIGEST_LEN, mac_len);
    }
    codomyrmex_hmac_free(ctx);
    return status;
}

static void test_rfc4231(void)
{
    size_t c;
    size_t a;

    check_section("RFC 4231 test cases 1-7");
    for (c = 0; c < sizeof RFC4231 / sizeof RFC4231[0]; c++) {
        const struct rfc4231_case *tc = &RFC4231[c];
        uint8_t key[200];
        uint8_t data[200];
        size_t key_len = hex_decode(tc->key_hex, key, sizeof key);
        size_t data_len = hex_decode(tc->data_hex, data, sizeof data);

        for (a = 0; a < 3; a++) {
            uint8_t expected[CODOMYRMEX_MAX_DIGEST_LEN];
            uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
            uint8_t streamed[CODOMYRMEX_MAX_DIGEST_LEN];
            size_t expected_len = hex_decode(tc->mac_hex[a], expected, sizeof expected);
            size_t digest = codomyrmex_hash_digest_len(ALGS[a]);
            size_t mac_len = 0;
            size_t streamed_len = 0;
            unsigned long failures = check_failures();

            CHECK_OK(codomyrmex_hmac_compute(ALGS[a], key, key_len, data, data_len, mac,
                                             sizeof mac, &mac_len));
            CHECK_SIZE(mac_len, digest);
            if (tc->truncated_len != 0) {
                /* Only a prefix is published; a prefix never verifies. */
                CHECK_SIZE(expected_len, tc->truncated_len);
                CHECK_BYTES(mac, expected, expected_len);
                CHECK_STATUS(codomyrmex_hmac_verify(ALGS[a], key, key_len, data, data_len,
                                                    expected, expected_len),
                             CODOMYRMEX_ERR_VERIFY_FAILED);
                CHECK_OK(codomyrmex_hmac_verify(ALGS[a], key, key_len, data, data_len, mac,
                                                mac_len));
            } else {
                CHECK_SIZE(expected_len, digest);
                CHECK_BYTES(mac, expected, digest);
                CHECK_OK(codomyrmex_hmac_verify(ALGS[a], key, key_len, data, data_len,
                                                expected, expected_len));
            }
            CHECK_OK(stream_mac(ALGS[a], key, key_len, data, data_len, streamed,
                                &streamed_len));
            CHECK_SIZE(streamed_len, digest);
            CHECK_BYTES(streamed, mac, digest);
            if (check_failures() != failures) {
                fprintf(stderr, "    in RFC 4231 test case %d, HMAC-%s\n", tc->number,
                        ALG_NAMES[a]);
            }
        }
    }
}

/* ---------------------------------------------------------------------------
 * Wycheproof: valid full-length tags verify and equal the computed MAC;
 * valid truncated tags equal a prefix of it but never verify; invalid
 * (modified) tags never verify and never equal (a prefix of) the MAC.
 */
static void test_wycheproof(void)
{
    size_t per_alg[3] = {0, 0, 0};
    size_t valid_full = 0;
    size_t valid_truncated = 0;
    size_t invalid = 0;
    size_t i;

    check_section("Wycheproof HMAC vectors");
    CHECK_SIZE(WYCHEPROOF_HMAC_FILE_COUNT, 3);
    for (i = 0; i < WYCHEPROOF_HMAC_TEST_COUNT; i++) {
        const struct wycheproof_hmac_test *t = &wycheproof_hmac_tests[i];
        size_t digest = codomyrmex_hash_digest_len(t->alg);
        bool full = t->tag.len == digest;
        uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t mac_len = 0;
        codomyrmex_hmac *ctx = NULL;
        unsigned long failures = check_failures();

        per_alg[t->alg - 1]++;
        CHECK(t->tag.len <= digest);
        CHECK_SIZE(t->tag_bits, t->tag.len * 8);
        CHECK_OK(codomyrmex_hmac_compute(t->alg, t->key.data, t->key.len, t->msg.data,
                                         t->msg.len, mac, sizeof mac, &mac_len));
        CHECK_SIZE(mac_len, digest);
        if (t->valid) {
            CHECK_BYTES(mac, t->tag.data, t->tag.len);
            if (full) {
                valid_full++;
                CHECK_OK(codomyrmex_hmac_verify(t->alg, t->key.data, t->key.len,
                                                t->msg.data, t->msg.len, t->tag.data,
                                                t->tag.len));
            } else {
                valid_truncated++;
                CHECK_STATUS(codomyrmex_hmac_verify(t->alg, t->key.data, t->key.len,
                                                    t->msg.data, t->msg.len, t->tag.data,
                                                    t->tag.len),
                             CODOMYRMEX_ERR_VERIFY_FAILED);
            }
        } else {
            invalid++;
            CHECK(memcmp(mac, t->tag.data, t->tag.len) != 0);
            CHECK_STATUS(codomyrmex_hmac_verify(t->alg, t->key.data, t->key.len, t->msg.data,
                                                t->msg.len, t->tag.data, t->tag.len),
                         CODOMYRMEX_ERR_VERIFY_FAILED);
        }
        /* The stream agrees with the one-shot verification. */
        if (CHECK_OK(codomyrmex_hmac_new(t->alg, t->key.data, t->key.len, &ctx))) {
            CHECK_OK(codomyrmex_hmac_update(ctx, t->msg.data, t->msg.len));
            CHECK_STATUS(codomyrmex_hmac_finish_verify(ctx, t->tag.data, t->tag.len),
                         t->valid && full ? CODOMYRMEX_OK : CODOMYRMEX_ERR_VERIFY_FAILED);
            codomyrmex_hmac_free(ctx);
        }
        if (check_failures() != failures) {
            fprintf(stderr, "    in %s tcId %u (%s; %s; %s)\n", t->file, t->tc_id,
                    t->comment, t->flags, t->valid ? "valid" : "invalid");
        }
    }
    /* No vector was lost on the way from JSON to C. */
    for (i = 0; i < WYCHEPROOF_HMAC_FILE_COUNT; i++) {
        const struct wycheproof_file *f = &wycheproof_hmac_files[i];

        CHECK_SIZE(per_alg[f->alg - 1], f->number_of_tests);
        CHECK_SIZE(f->number_of_tests, 174);
    }
    CHECK_SIZE(valid_full, 3 * 33);
    CHECK_SIZE(valid_truncated, 3 * 33);
    CHECK_SIZE(invalid, 3 * 108);
}

/* ---------------------------------------------------------------------------
 * Streaming: any split of the message gives the one-shot MAC; finish and
 * finish_verify reset the stream to its keyed start.
 */
static void feed_in_random_chunks(codomyrmex_hmac *ctx, const uint8_t *data, size_t len,
                                  uint64_t *rng)
{
    size_t at = 0;

    while (at < len) {
        size_t left = len - at;
        uint64_t r = test_rand(rng);
        size_t chunk;

        switch (r % 4) {
        case 0:
            chunk = 0; /* an empty update, as (NULL, 0) */
            break;
        case 1:
            chunk = 1;
            break;
        case 2:
            chunk = (size_t)(r >> 8) % 200;
            break;
        default:
            chunk = (size_t)(r >> 8) % (left + 1);
            break;
        }
        if (chunk > left) {
            chunk = left;
        }
        if (chunk == 0) {
            CHECK_OK(codomyrmex_hmac_update(ctx, NULL, 0));
            continue;
        }
        CHECK_OK(codomyrmex_hmac_update(ctx, data + at, chunk));
        at += chunk;
    }
}

static void test_streaming(void)
{
    static const size_t lengths[] = {0,   1,   2,   31,  32,  33,  63,   64,   65,    111,
                                     112, 127, 128, 129, 200, 255, 1000, 4096, 100000};
    uint64_t rng = UINT64_C(0x9E3779B97F4A7C15);
    uint8_t *data = malloc(100000);
    size_t a;
    size_t l;

    check_section("streaming in random chunks equals one-shot");
    if (!CHECK(data != NULL)) {
        return;
    }
    test_rand_fill(&rng, data, 100000);
    for (a = 0; a < 3; a++) {
        for (l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
            uint8_t key[300];
            size_t key_len = (size_t)(test_rand(&rng) % sizeof key);
            size_t len = lengths[l];
            uint8_t one_shot[CODOMYRMEX_MAX_DIGEST_LEN];
            uint8_t empty_mac[CODOMYRMEX_MAX_DIGEST_LEN];
            uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
            size_t one_shot_len = 0;
            size_t empty_len = 0;
            size_t mac_len = 0;
            size_t digest = codomyrmex_hash_digest_len(ALGS[a]);
            codomyrmex_hmac *ctx = NULL;
            int round;
            unsigned long failures = check_failures();

            test_rand_fill(&rng, key, key_len);
            CHECK_OK(codomyrmex_hmac_compute(ALGS[a], key, key_len, data, len, one_shot,
                                             sizeof one_shot, &one_shot_len));
            CHECK_OK(codomyrmex_hmac_compute(ALGS[a], key, key_len, NULL, 0, empty_mac,
                                             sizeof empty_mac, &empty_len));
            if (!CHECK_OK(codomyrmex_hmac_new(ALGS[a], key, key_len, &ctx))) {
                continue;
            }
            /* The same stream serves several messages: finish resets it. */
            for (round = 0; round < 3; round++) {
                feed_in_random_chunks(ctx, data, len, &rng);
                memset(mac, 0, sizeof mac);
                CHECK_OK(codomyrmex_hmac_finish(ctx, mac, sizeof mac, &mac_len));
                CHECK_SIZE(mac_len, digest);
                CHECK_BYTES(mac, one_shot, digest);
            }
            /* Right after a finish the stream is at its keyed start. */
            CHECK_OK(codomyrmex_hmac_finish(ctx, mac, sizeof mac, &mac_len));
            CHECK_BYTES(mac, empty_mac, digest);

            /* finish_verify: a match, then a mismatch; both reset. */
            feed_in_random_chunks(ctx, data, len, &rng);
            CHECK_OK(codomyrmex_hmac_finish_verify(ctx, one_shot, one_shot_len));
            feed_in_random_chunks(ctx, data, len, &rng);
            one_shot[digest - 1] ^= 0x01;
            CHECK_STATUS(codomyrmex_hmac_finish_verify(ctx, one_shot, one_shot_len),
                         CODOMYRMEX_ERR_VERIFY_FAILED);
            one_shot[digest - 1] ^= 0x01;
            CHECK_OK(codomyrmex_hmac_finish(ctx, mac, sizeof mac, &mac_len));
            CHECK_BYTES(mac, empty_mac, digest);
            /* A truncated MAC fails through the stream too, and resets it. */
            feed_in_random_chunks(ctx, data, len, &rng);
            CHECK_STATUS(codomyrmex_hmac_finish_verify(ctx, one_shot, digest / 2),
                         CODOMYRMEX_ERR_VERIFY_FAILED);
            CHECK_OK(codomyrmex_hmac_finish_verify(ctx, empty_mac, empty_len));
            codomyrmex_hmac_free(ctx);
            if (check_failures() != failures) {
                fprintf(stderr, "    in HMAC-%s, key %zu bytes, message %zu bytes\n",
                        ALG_NAMES[a], key_len, len);
            }
        }
    }
    free(data);
}

/* ---------------------------------------------------------------------------
 * The buffer rule: BUFFER_TOO_SMALL sets *mac_len, leaves the buffer
 * byte-for-byte untouched and (for a stream) the stream unchanged.
 */
static void test_buffer_rules(void)
{
    static const uint8_t key[] = "buffer-rule key";
    static const uint8_t msg[] = "abc";
    size_t a;

    check_section("buffer rules");
    for (a = 0; a < 3; a++) {
        size_t digest = codomyrmex_hash_digest_len(ALGS[a]);
        uint8_t expected[CODOMYRMEX_MAX_DIGEST_LEN];
        uint8_t buf[CODOMYRMEX_MAX_DIGEST_LEN + 16];
        size_t expected_len = 0;
        size_t mac_len;
        codomyrmex_hmac *ctx = NULL;

        CHECK_OK(codomyrmex_hmac_compute(ALGS[a], key, sizeof key, msg, 3, expected,
                                         sizeof expected, &expected_len));

        /* One-shot: one byte short, then a size query with (NULL, 0). */
        memset(buf, 0xA5, sizeof buf);
        mac_len = 12345;
        CHECK_STATUS(codomyrmex_hmac_compute(ALGS[a], key, sizeof key, msg, 3, buf,
                                             digest - 1, &mac_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(mac_len, digest);
        CHECK_FILLED(buf, sizeof buf, 0xA5);
        mac_len = 12345;
        CHECK_STATUS(codomyrmex_hmac_compute(ALGS[a], key, sizeof key, msg, 3, NULL, 0,
                                             &mac_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(mac_len, digest);
        mac_len = 12345;
        CHECK_STATUS(codomyrmex_hmac_compute(ALGS[a], key, sizeof key, msg, 3, buf, 0,
                                             &mac_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(mac_len, digest);
        CHECK_FILLED(buf, sizeof buf, 0xA5);

        /* A larger buffer: exactly digest bytes written, the rest untouched. */
        CHECK_OK(codomyrmex_hmac_compute(ALGS[a], key, sizeof key, msg, 3, buf, sizeof buf,
                                         &mac_len));
        CHECK_SIZE(mac_len, digest);
        CHECK_BYTES(buf, expected, digest);
        CHECK_FILLED(buf + digest, sizeof buf - digest, 0xA5);

        /* Stream: a failed finish leaves the buffer and the stream alone. */
        if (!CHECK_OK(codomyrmex_hmac_new(ALGS[a], key, sizeof key, &ctx))) {
            continue;
        }
        CHECK_OK(codomyrmex_hmac_update(ctx, msg, 1));
        memset(buf, 0xA5, sizeof buf);
        mac_len = 12345;
        CHECK_STATUS(codomyrmex_hmac_finish(ctx, buf, digest - 1, &mac_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(mac_len, digest);
        CHECK_FILLED(buf, sizeof buf, 0xA5);
        CHECK_OK(codomyrmex_hmac_update(ctx, msg + 1, 1));
        mac_len = 12345;
        CHECK_STATUS(codomyrmex_hmac_finish(ctx, NULL, 0, &mac_len),
                     CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        CHECK_SIZE(mac_len, digest);
        CHECK_OK(codomyrmex_hmac_update(ctx, msg + 2, 1));
        CHECK_OK(codomyrmex_hmac_finish(ctx, buf, sizeof buf, &mac_len));
        CHECK_SIZE(mac_len, digest);
        CHECK_BYTES(buf, expected, digest);
        CHECK_FILLED(buf + digest, sizeof buf - digest, 0xA5);
        codomyrmex_hmac_free(ctx);
    }
}

/* ---------------------------------------------------------------------------
 * Verification is exact: a changed bit, a missing or extra byte, an empty
 * MAC all fail.
 */
static void test_verify_exactness(void)
{
    static const uint8_t key[] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t msg[] = "exactness";
    size_t a;

    check_section("verify: exact match only");
    for (a = 0; a < 3; a++) {
        size_t digest = codomyrmex_hash_digest_len(ALGS[a]);
        uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN + 1];
        size_t mac_len = 0;
        size_t pos;
        int bit;

        CHECK_OK(codomyrmex_hmac_compute(ALGS[a], key, sizeof key, msg, sizeof msg, mac,
                                         CODOMYRMEX_MAX_DIGEST_LEN, &mac_len));
        CHECK_OK(codomyrmex_hmac_verify(ALGS[a], key, sizeof key, msg, sizeof msg, mac,
                                        mac_len));
        for (pos = 0; pos < digest; pos++) {
            for (bit = 0; bit < 8; bit += 7) {
                mac[pos] ^= (uint8_t)(1u << bit);
                CHECK_STATUS(codomyrmex_hmac_verify(ALGS[a], key, sizeof key, msg,
                                                    sizeof msg, mac, mac_len),
                             CODOMYRMEX_ERR_VERIFY_FAILED);
                mac[pos] ^= (uint8_t)(1u << bit);
            }
        }
        mac[digest] = 0;
        CHECK_STATUS(codomyrmex_hmac_verify(ALGS[a], key, sizeof key, msg, sizeof msg, mac,
                                            digest + 1),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_hmac_verify(ALGS[a], key, sizeof key, msg, sizeof msg, mac,
                                            digest - 1),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_hmac_verify(ALGS[a], key, sizeof key, msg, sizeof msg, mac, 1),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_hmac_verify(ALGS[a], key, sizeof key, msg, sizeof msg, NULL,
                                            0),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        /* The right MAC under another key, message or algorithm fails. */
        CHECK_STATUS(codomyrmex_hmac_verify(ALGS[a], key, sizeof key - 1, msg, sizeof msg,
                                            mac, mac_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_hmac_verify(ALGS[a], key, sizeof key, msg, sizeof msg - 1,
                                            mac, mac_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_hmac_verify(ALGS[(a + 1) % 3], key, sizeof key, msg,
                                            sizeof msg, mac, mac_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
    }
}

/* ---------------------------------------------------------------------------
 * (NULL, 0) is an empty key or message; HMAC-SHA-256 of an empty message
 * under an empty key is a well-known value.
 */
static void test_empty_inputs(void)
{
    static const char *const empty_sha256 =
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad";
    static const uint8_t nothing[1] = {0};
    uint8_t expected[32];
    uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
    uint8_t other[CODOMYRMEX_MAX_DIGEST_LEN];
    size_t mac_len = 0;
    size_t other_len = 0;
    codomyrmex_hmac *ctx = NULL;
    size_t a;

    check_section("(NULL, 0) inputs are empty");
    hex_decode(empty_sha256, expected, sizeof expected);
    CHECK_OK(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, NULL, 0, NULL, 0, mac, sizeof mac,
                                     &mac_len));
    CHECK_SIZE(mac_len, 32);
    CHECK_BYTES(mac, expected, 32);
    CHECK_OK(codomyrmex_hmac_verify(CODOMYRMEX_SHA256, NULL, 0, NULL, 0, expected, 32));
    if (CHECK_OK(codomyrmex_hmac_new(CODOMYRMEX_SHA256, NULL, 0, &ctx))) {
        CHECK_OK(codomyrmex_hmac_update(ctx, NULL, 0));
        CHECK_OK(codomyrmex_hmac_finish(ctx, mac, sizeof mac, &mac_len));
        CHECK_BYTES(mac, expected, 32);
        CHECK_OK(codomyrmex_hmac_finish_verify(ctx, expected, 32));
        codomyrmex_hmac_free(ctx);
    }
    /* A non-NULL pointer with length 0 is the same empty input. */
    for (a = 0; a < 3; a++) {
        CHECK_OK(codomyrmex_hmac_compute(ALGS[a], NULL, 0, NULL, 0, mac, sizeof mac,
                                         &mac_len));
        CHECK_OK(codomyrmex_hmac_compute(ALGS[a], nothing, 0, nothing, 0, other, sizeof other,
                                         &other_len));
        CHECK_SIZE(other_len, mac_len);
        CHECK_BYTES(other, mac, mac_len);
    }
}

/* ---------------------------------------------------------------------------
 * NULL where something is required is CODOMYRMEX_ERR_NULL_POINTER, and a
 * failing call leaves its out-parameters alone.
 */
static void test_null_arguments(void)
{
    static const uint8_t key[] = "k";
    static const uint8_t msg[] = "m";
    static int marker;
    codomyrmex_hmac *const sentinel = (codomyrmex_hmac *)(void *)&marker;
    codomyrmex_hmac *ctx = sentinel;
    codomyrmex_hmac *live = NULL;
    uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
    size_t mac_len = 777;

    check_section("NULL arguments");
    memset(mac, 0xA5, sizeof mac);
    CHECK_STATUS(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, NULL, 1, msg, 1, mac, sizeof mac,
                                         &mac_len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 1, NULL, 1, mac, sizeof mac,
                                         &mac_len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 1, msg, 1, NULL, sizeof mac,
                                         &mac_len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 1, msg, 1, mac, sizeof mac,
                                         NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(mac_len, 777);
    CHECK_FILLED(mac, sizeof mac, 0xA5);

    CHECK_STATUS(codomyrmex_hmac_verify(CODOMYRMEX_SHA256, NULL, 1, msg, 1, mac, 32),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hmac_verify(CODOMYRMEX_SHA256, key, 1, NULL, 1, mac, 32),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hmac_verify(CODOMYRMEX_SHA256, key, 1, msg, 1, NULL, 32),
                 CODOMYRMEX_ERR_NULL_POINTER);

    CHECK_STATUS(codomyrmex_hmac_new(CODOMYRMEX_SHA256, NULL, 1, &ctx),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK(ctx == sentinel);
    CHECK_STATUS(codomyrmex_hmac_new(CODOMYRMEX_SHA256, key, 1, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);

    CHECK_STATUS(codomyrmex_hmac_update(NULL, msg, 1), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hmac_update(NULL, NULL, 0), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hmac_finish(NULL, mac, sizeof mac, &mac_len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_hmac_finish_verify(NULL, mac, 32), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(mac_len, 777);
    CHECK_FILLED(mac, sizeof mac, 0xA5);

    /* With a live stream: NULL data with a length, NULL out-pointers. */
    if (CHECK_OK(codomyrmex_hmac_new(CODOMYRMEX_SHA256, key, 1, &live))) {
        uint8_t expected[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t expected_len = 0;

        CHECK_STATUS(codomyrmex_hmac_update(live, NULL, 1), CODOMYRMEX_ERR_NULL_POINTER);
        CHECK_STATUS(codomyrmex_hmac_finish(live, mac, sizeof mac, NULL),
                     CODOMYRMEX_ERR_NULL_POINTER);
        CHECK_STATUS(codomyrmex_hmac_finish(live, NULL, sizeof mac, &mac_len),
                     CODOMYRMEX_ERR_NULL_POINTER);
        CHECK_STATUS(codomyrmex_hmac_finish_verify(live, NULL, 32),
                     CODOMYRMEX_ERR_NULL_POINTER);
        CHECK_SIZE(mac_len, 777);
        CHECK_FILLED(mac, sizeof mac, 0xA5);
        /* None of the failures fed or reset anything. */
        CHECK_OK(codomyrmex_hmac_update(live, msg, 1));
        CHECK_OK(codomyrmex_hmac_finish(live, mac, sizeof mac, &mac_len));
        CHECK_OK(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 1, msg, 1, expected,
                                         sizeof expected, &expected_len));
        CHECK_BYTES(mac, expected, 32);
        codomyrmex_hmac_free(live);
    }

    /* Freeing NULL does nothing. */
    codomyrmex_hmac_free(NULL);
    CHECK(1);
}

static void test_bad_algorithms(void)
{
    static const uint8_t key[] = "k";
    static const uint8_t msg[] = "m";
    static int marker;
    codomyrmex_hmac *const sentinel = (codomyrmex_hmac *)(void *)&marker;
    size_t i;

    check_section("unsupported algorithm values");
    for (i = 0; i < sizeof BAD_ALGS / sizeof BAD_ALGS[0]; i++) {
        uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t mac_len = 777;
        codomyrmex_hmac *ctx = sentinel;

        memset(mac, 0xA5, sizeof mac);
        CHECK_STATUS(codomyrmex_hmac_compute(BAD_ALGS[i], key, 1, msg, 1, mac, sizeof mac,
                                             &mac_len),
                     CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        CHECK_SIZE(mac_len, 777);
        CHECK_FILLED(mac, sizeof mac, 0xA5);
        /* Also when the buffer is too small for any algorithm. */
        CHECK_STATUS(codomyrmex_hmac_compute(BAD_ALGS[i], key, 1, msg, 1, NULL, 0, &mac_len),
                     CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        CHECK_SIZE(mac_len, 777);
        CHECK_STATUS(codomyrmex_hmac_verify(BAD_ALGS[i], key, 1, msg, 1, mac, 32),
                     CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        CHECK_STATUS(codomyrmex_hmac_new(BAD_ALGS[i], key, 1, &ctx),
                     CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        CHECK(ctx == sentinel);
    }
}

/* ---------------------------------------------------------------------------
 * Threads: each thread uses its own streams; results match one-shot MACs.
 */
struct thread_job {
    unsigned seed;
    int failures;
};

static void *hmac_thread(void *arg)
{
    struct thread_job *job = arg;
    uint64_t rng = 0x1234567ull + job->seed;
    uint8_t data[3000];
    int i;

    test_rand_fill(&rng, data, sizeof data);
    for (i = 0; i < 200; i++) {
        codomyrmex_hash_alg alg = ALGS[i % 3];
        size_t len = (size_t)(test_rand(&rng) % sizeof data);
        uint8_t a[CODOMYRMEX_MAX_DIGEST_LEN];
        uint8_t b[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t a_len = 0;
        size_t b_len = 0;
        codomyrmex_hmac *ctx = NULL;

        if (codomyrmex_hmac_compute(alg, data, 32, data + 32, len - (len > 32 ? 32 : len), a,
                                    sizeof a, &a_len) != CODOMYRMEX_OK ||
            codomyrmex_hmac_new(alg, data, 32, &ctx) != CODOMYRMEX_OK) {
            job->failures++;
            continue;
        }
        if (codomyrmex_hmac_update(ctx, data + 32, len - (len > 32 ? 32 : len)) !=
                CODOMYRMEX_OK ||
            codomyrmex_hmac_finish(ctx, b, sizeof b, &b_len) != CODOMYRMEX_OK ||
            a_len != b_len || memcmp(a, b, a_len) != 0) {
            job->failures++;
        }
        codomyrmex_hmac_free(ctx);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t threads[4];
    struct thread_job jobs[4];
    int i;

    check_section("streams in concurrent threads");
    for (i = 0; i < 4; i++) {
        jobs[i].seed = (unsigned)i;
        jobs[i].failures = 0;
        CHECK(pthread_create(&threads[i], NULL, hmac_thread, &jobs[i]) == 0);
    }
    for (i = 0; i < 4; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK_SIZE(jobs[i].failures, 0);
    }
}

int main(void)
{
    test_rfc4231();
    test_wycheproof();
    test_streaming();
    test_buffer_rules();
    test_verify_exactness();
    test_empty_inputs();
    test_null_arguments();
    test_bad_algorithms();
    test_threads();
    return check_summary("test_hmac");
}
