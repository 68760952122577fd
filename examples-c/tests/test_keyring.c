/*
 * Keyrings (API.md §10) through the header: codomyrmex_key_manager_load,
 * codomyrmex_keyring_free, _refresh, _current_version, _hmac,
 * _hmac_verify, _hmac_tagged and _hmac_verify_tagged.
 *
 * A keyring must give the same bytes and the same accept/reject as the
 * key manager's calls for the same key state; follow rotations, prunes,
 * staging, promotion, deletion and re-creation when refreshed (by
 * codomyrmex_keyring_refresh, or by itself with refresh_ms > 0); keep
 * serving its last good keys when a reload fails; outlive its key
 * manager; and work the same on a mounted source and on a sealed store.
 *
 * Set CODOMYRMEX_TEST_SKIP_THREADS=1 to skip the part where threads share
 * one keyring (valgrind's serialized scheduler).
 */
#define _XOPEN_SOURCE 700

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "codomyrmex_keys.h"
#include "test_util.h"

#define KEY_LEN 32
#define TAG_MAX (CODOMYRMEX_TAG_OVERHEAD + CODOMYRMEX_MAX_DIGEST_LEN)
#define FILL 0xA5
#define LEN_SENTINEL ((size_t)0xDEADBEEF)

static char base[TEST_PATH_MAX];

/* Random keys: keys[i] is the i-th key a test stores. */
static uint8_t keys[6][KEY_LEN];
/* Test data, the longest message size. */
static uint8_t message[1000];

static const codomyrmex_hash_alg ALGS[] = {CODOMYRMEX_SHA256, CODOMYRMEX_SHA384,
                                           CODOMYRMEX_SHA512};
static const size_t DIGEST_LENS[] = {32, 48, 64};
static const size_t MESSAGE_SIZES[] = {0, 1, 32, 1000};

#define ALG_COUNT (sizeof ALGS / sizeof ALGS[0])
#define SIZE_COUNT (sizeof MESSAGE_SIZES / sizeof MESSAGE_SIZES[0])

/* ---------------------------------------------------------------------------
 * Helpers
 */

/* True if this thread's last error message contains `needle` (printed
 * otherwise). */
static bool message_has(const char *needle)
{
    char text[1024];

    codomyrmex_last_error_message(text, sizeof text);
    if (strstr(text, needle) != NULL) {
        return true;
    }
    fprintf(stderr, "    the last error message lacks \"%s\": %s\n", needle, text);
    return false;
}

static bool threads_skipped(void)
{
    const char *skip = getenv("CODOMYRMEX_TEST_SKIP_THREADS");
    return skip != NULL && strcmp(skip, "1") == 0;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec delay;

    delay.tv_sec = ms / 1000;
    delay.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&delay, NULL);
}

/* Opens (creating) the private key directory base/<name>. */
static codomyrmex_key_manager *open_dir(const char *name)
{
    char dir[TEST_PATH_MAX];
    codomyrmex_key_manager *km = NULL;

    path_join(dir, base, name);
    if (!CHECK_OK(codomyrmex_key_manager_open(dir, &km))) {
        return NULL;
    }
    return km;
}

/* A keyring of `id` in `km`, or NULL (a failed check). */
static codomyrmex_keyring *load(const codomyrmex_key_manager *km, const char *id,
                                codomyrmex_hash_alg alg, uint32_t refresh_ms)
{
    codomyrmex_keyring *kr = NULL;

    if (!CHECK_OK(codomyrmex_key_manager_load(km, id, alg, refresh_ms, &kr))) {
        return NULL;
    }
    CHECK(kr != NULL);
    return kr;
}

/* The keyring's current version (0 if the call fails). */
static uint32_t kr_version(const codomyrmex_keyring *kr)
{
    uint32_t version = 0;

    CHECK_OK(codomyrmex_keyring_current_version(kr, &version));
    return version;
}

/* The key manager's current version of `id` (0 if the call fails). */
static uint32_t km_version(const codomyrmex_key_manager *km, const char *id)
{
    uint32_t version = 0;

    CHECK_OK(codomyrmex_key_manager_current_version(km, id, &version));
    return version;
}

/* Refreshes `kr` and checks the call and what it says changed. */
static void check_refresh(const codomyrmex_keyring *kr, bool expected)
{
    bool changed = !expected;

    CHECK_OK(codomyrmex_keyring_refresh(kr, &changed));
    CHECK(changed == expected);
}

/* HMAC of `data` with `key` as the one-shot function computes it. */
static void reference_hmac(codomyrmex_hash_alg alg, const uint8_t *key, const uint8_t *data,
                           size_t len, uint8_t *out, size_t digest_len)
{
    size_t written = 0;

    CHECK_OK(codomyrmex_hmac_compute(alg, key, KEY_LEN, data, len, out, digest_len, &written));
    CHECK_SIZE(written, digest_len);
}

/* The tagged MAC of `data` under `key` as `version`, made by hand:
 * 0x01 || version (big-endian) || HMAC. Returns its length. */
static size_t make_tag(codomyrmex_hash_alg alg, size_t digest_len, uint32_t version,
                       const uint8_t *key, const uint8_t *data, size_t len, uint8_t *tag)
{
    tag[0] = 0x01;
    tag[1] = (uint8_t)(version >> 24);
    tag[2] = (uint8_t)(version >> 16);
    tag[3] = (uint8_t)(version >> 8);
    tag[4] = (uint8_t)version;
    reference_hmac(alg, key, data, len, tag + CODOMYRMEX_TAG_OVERHEAD, digest_len);
    return CODOMYRMEX_TAG_OVERHEAD + digest_len;
}

/* The keyring's HMAC equals HMAC(key, data) and the key manager's. */
static void check_macs_with(const codomyrmex_keyring *kr, const codomyrmex_key_manager *km,
                            const char *id, codomyrmex_hash_alg alg, size_t digest_len,
                            const uint8_t *key)
{
    uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
    uint8_t expected[CODOMYRMEX_MAX_DIGEST_LEN];
    size_t len = 0;

    reference_hmac(alg, key, message, 100, expected, digest_len);
    if (CHECK_OK(codomyrmex_keyring_hmac(kr, message, 100, mac, sizeof mac, &len))) {
        CHECK_SIZE(len, digest_len);
        CHECK_BYTES(mac, expected, digest_len);
    }
    if (km != NULL &&
        CHECK_OK(codomyrmex_key_manager_hmac(km, id, alg, message, 100, mac, sizeof mac, &len))) {
        CHECK_BYTES(mac, expected, digest_len);
    }
}

/* Writes KEY_LEN bytes of `key` to base/<name> with `mode`; the path. */
static void put_file(char path[TEST_PATH_MAX], const char *dir, const char *name,
                     const uint8_t *key, mode_t mode)
{
    path_join(path, dir, name);
    CHECK(write_file(path, key, KEY_LEN, mode));
}

/* ---------------------------------------------------------------------------
 * Arguments
 */

static void test_arguments(void)
{
    static const char *const bad_ids[] = {"", ".hidden", "..", "../k", "a/b", "a b", "k\\x",
                                          "caf\xc3\xa9"};
    static const codomyrmex_hash_alg bad_algs[] = {0, 4, 0xFFFFFFFFu};
    static uint8_t marker;
    codomyrmex_keyring *const untouched = (codomyrmex_keyring *)(void *)&marker;
    char long_id[130];
    codomyrmex_key_manager *km = open_dir("arguments");
    codomyrmex_keyring *kr = untouched;
    uint8_t out[TAG_MAX + 8];
    size_t len = LEN_SENTINEL;
    uint32_t version = 7;
    bool changed = true;
    size_t i;

    check_section("keyring_free(NULL) does nothing, and fails nothing");
    codomyrmex_keyring_free(NULL);
    CHECK_SIZE(codomyrmex_last_error_message(NULL, 0), 0);
    if (km == NULL) {
        return;
    }
    CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN));

    check_section("load: NULL arguments");
    CHECK_STATUS(codomyrmex_key_manager_load(NULL, "k", CODOMYRMEX_SHA256, 0, &kr),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK(kr == untouched);
    CHECK_STATUS(codomyrmex_key_manager_load(km, NULL, CODOMYRMEX_SHA256, 0, &kr),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK(kr == untouched);
    CHECK_STATUS(codomyrmex_key_manager_load(km, "k", CODOMYRMEX_SHA256, 0, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);

    check_section("load: invalid key ids");
    for (i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        CHECK_STATUS(codomyrmex_key_manager_load(km, bad_ids[i], CODOMYRMEX_SHA256, 0, &kr),
                     CODOMYRMEX_ERR_INVALID_KEY_ID);
        CHECK(kr == untouched);
    }
    memset(long_id, 'k', 129);
    long_id[129] = '\0';
    CHECK_STATUS(codomyrmex_key_manager_load(km, long_id, CODOMYRMEX_SHA256, 0, &kr),
                 CODOMYRMEX_ERR_INVALID_KEY_ID);
    CHECK(kr == untouched);

    check_section("load: unsupported algorithms");
    for (i = 0; i < sizeof bad_algs / sizeof bad_algs[0]; i++) {
        CHECK_STATUS(codomyrmex_key_manager_load(km, "k", bad_algs[i], 0, &kr),
                     CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
        CHECK(kr == untouched);
    }

    check_section("load: a missing key");
    CHECK_STATUS(codomyrmex_key_manager_load(km, "absent", CODOMYRMEX_SHA256, 0, &kr),
                 CODOMYRMEX_ERR_NOT_FOUND);
    CHECK(message_has("absent"));
    CHECK(kr == untouched);

    check_section("keyring calls: a NULL handle");
    memset(out, FILL, sizeof out);
    CHECK_STATUS(codomyrmex_keyring_refresh(NULL, &changed), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK(changed);
    CHECK_STATUS(codomyrmex_keyring_current_version(NULL, &version), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_INT(version, 7);
    CHECK_STATUS(codomyrmex_keyring_hmac(NULL, message, 10, out, sizeof out, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac_tagged(NULL, message, 10, out, sizeof out, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac_verify(NULL, message, 10, out, 32),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac_verify_tagged(NULL, message, 10, out, 37),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(len, LEN_SENTINEL);
    CHECK_FILLED(out, sizeof out, FILL);

    kr = load(km, "k", CODOMYRMEX_SHA256, 0);
    if (kr == NULL) {
        codomyrmex_key_manager_free(km);
        return;
    }

    check_section("keyring calls: NULL required out-pointers");
    CHECK_STATUS(codomyrmex_keyring_refresh(kr, NULL), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_current_version(kr, NULL), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac(kr, message, 10, out, sizeof out, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac_tagged(kr, message, 10, out, sizeof out, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac(kr, message, 10, NULL, 32, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac_tagged(kr, message, 10, NULL, 37, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(len, LEN_SENTINEL);
    CHECK_FILLED(out, sizeof out, FILL);

    check_section("keyring calls: NULL inputs with a length");
    CHECK_STATUS(codomyrmex_keyring_hmac(kr, NULL, 1, out, sizeof out, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac_tagged(kr, NULL, 1, out, sizeof out, &len),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac_verify(kr, NULL, 1, out, 32), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac_verify(kr, message, 1, NULL, 32),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac_verify_tagged(kr, NULL, 1, out, 37),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_keyring_hmac_verify_tagged(kr, message, 1, NULL, 37),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_SIZE(len, LEN_SENTINEL);
    CHECK_FILLED(out, sizeof out, FILL);

    check_section("keyring calls: NULL inputs of length 0 are empty");
    {
        uint8_t expected[32];

        reference_hmac(CODOMYRMEX_SHA256, keys[0], NULL, 0, expected, sizeof expected);
        CHECK_OK(codomyrmex_keyring_hmac(kr, NULL, 0, out, sizeof out, &len));
        CHECK_SIZE(len, 32);
        CHECK_BYTES(out, expected, 32);
        CHECK_OK(codomyrmex_keyring_hmac_verify(kr, NULL, 0, expected, sizeof expected));
        CHECK_STATUS(codomyrmex_keyring_hmac_verify(kr, NULL, 0, NULL, 0),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_STATUS(codomyrmex_keyring_hmac_verify_tagged(kr, NULL, 0, NULL, 0),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        CHECK_OK(codomyrmex_keyring_hmac_tagged(kr, NULL, 0, out, sizeof out, &len));
        CHECK_SIZE(len, 37);
        CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, NULL, 0, out, len));
    }
    codomyrmex_keyring_free(kr);
    codomyrmex_key_manager_free(km);
}

/* The size-query rule on the keyring's two variable-size outputs. */
static void test_size_queries(void)
{
    codomyrmex_key_manager *km = open_dir("sizes");
    size_t a;

    check_section("size queries: (NULL, 0), one byte short, exact, larger");
    if (km == NULL || !CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN))) {
        codomyrmex_key_manager_free(km);
        return;
    }
    for (a = 0; a < ALG_COUNT; a++) {
        codomyrmex_keyring *kr = load(km, "k", ALGS[a], 0);
        int tagged;

        if (kr == NULL) {
            continue;
        }
        for (tagged = 0; tagged < 2; tagged++) {
            size_t need = DIGEST_LENS[a] + (tagged ? CODOMYRMEX_TAG_OVERHEAD : 0);
            uint8_t out[TAG_MAX + 8];
            size_t len = LEN_SENTINEL;

#define KR_MAC(buf, cap, lenp)                                                       \
    (tagged ? codomyrmex_keyring_hmac_tagged(kr, message, 32, (buf), (cap), (lenp)) \
            : codomyrmex_keyring_hmac(kr, message, 32, (buf), (cap), (lenp)))
            CHECK_STATUS(KR_MAC(NULL, 0, &len), CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
            CHECK_SIZE(len, need);
            memset(out, FILL, sizeof out);
            len = LEN_SENTINEL;
            CHECK_STATUS(KR_MAC(out, 0, &len), CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
            CHECK_SIZE(len, need);
            len = LEN_SENTINEL;
            CHECK_STATUS(KR_MAC(out, need - 1, &len), CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
            CHECK_SIZE(len, need);
            CHECK_FILLED(out, sizeof out, FILL);
            len = LEN_SENTINEL;
            CHECK_OK(KR_MAC(out, need, &len));
            CHECK_SIZE(len, need);
            CHECK_FILLED(out + need, sizeof out - need, FILL);
            memset(out, FILL, sizeof out);
            len = LEN_SENTINEL;
            CHECK_OK(KR_MAC(out, sizeof out, &len));
            CHECK_SIZE(len, need);
            CHECK_FILLED(out + need, sizeof out - need, FILL);
#undef KR_MAC
        }
        codomyrmex_keyring_free(kr);
    }
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * Same bytes as the key manager
 */

static void test_same_bytes(void)
{
    codomyrmex_key_manager *km = open_dir("same");
    uint8_t old[KEY_LEN];
    size_t old_len = 0;
    size_t a, s;

    check_section("same bytes: keyring and key manager, every algorithm and size");
    if (km == NULL || !CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN)) ||
        !CHECK_OK(codomyrmex_key_manager_rotate(km, "k", keys[1], KEY_LEN, old, sizeof old,
                                                &old_len))) {
        codomyrmex_key_manager_free(km);
        return;
    }
    for (a = 0; a < ALG_COUNT; a++) {
        codomyrmex_keyring *kr = load(km, "k", ALGS[a], 0);
        size_t digest_len = DIGEST_LENS[a];

        if (kr == NULL) {
            continue;
        }
        CHECK_INT(kr_version(kr), 2);
        for (s = 0; s < SIZE_COUNT; s++) {
            size_t size = MESSAGE_SIZES[s];
            uint8_t from_kr[TAG_MAX], from_km[TAG_MAX], reference[TAG_MAX];
            size_t kr_len = 0, km_len = 0;

            memset(from_kr, FILL, sizeof from_kr);
            memset(from_km, 0x5A, sizeof from_km);
            reference_hmac(ALGS[a], keys[1], message, size, reference, digest_len);
            CHECK_OK(codomyrmex_keyring_hmac(kr, message, size, from_kr, sizeof from_kr, &kr_len));
            CHECK_OK(codomyrmex_key_manager_hmac(km, "k", ALGS[a], message, size, from_km,
                                                 sizeof from_km, &km_len));
            CHECK_SIZE(kr_len, digest_len);
            CHECK_SIZE(km_len, digest_len);
            CHECK_BYTES(from_kr, from_km, digest_len);
            CHECK_BYTES(from_kr, reference, digest_len);
            CHECK_OK(codomyrmex_keyring_hmac_verify(kr, message, size, from_km, km_len));
            CHECK_OK(codomyrmex_key_manager_hmac_verify(km, "k", ALGS[a], message, size, from_kr,
                                                        kr_len));

            memset(from_kr, FILL, sizeof from_kr);
            memset(from_km, 0x5A, sizeof from_km);
            make_tag(ALGS[a], digest_len, 2, keys[1], message, size, reference);
            CHECK_OK(codomyrmex_keyring_hmac_tagged(kr, message, size, from_kr, sizeof from_kr,
                                                    &kr_len));
            CHECK_OK(codomyrmex_key_manager_hmac_tagged(km, "k", ALGS[a], message, size, from_km,
                                                        sizeof from_km, &km_len));
            CHECK_SIZE(kr_len, CODOMYRMEX_TAG_OVERHEAD + digest_len);
            CHECK_SIZE(km_len, kr_len);
            CHECK_BYTES(from_kr, from_km, kr_len);
            CHECK_BYTES(from_kr, reference, kr_len);
            CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, message, size, from_km, km_len));
            CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(km, "k", ALGS[a], message, size,
                                                               from_kr, kr_len));
            /* A tag of the retained version 1 verifies in both. */
            make_tag(ALGS[a], digest_len, 1, keys[0], message, size, reference);
            CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, message, size, reference, kr_len));
            CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(km, "k", ALGS[a], message, size,
                                                               reference, kr_len));
        }
        codomyrmex_keyring_free(kr);
    }
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * Rejections
 */

/* The keyring and the key manager both refuse `tag` for `data`. */
static void check_tag_refused(const codomyrmex_keyring *kr, const codomyrmex_key_manager *km,
                              codomyrmex_hash_alg alg, const uint8_t *data, size_t data_len,
                              const uint8_t *tag, size_t tag_len)
{
    CHECK_STATUS(codomyrmex_keyring_hmac_verify_tagged(kr, data, data_len, tag, tag_len),
                 CODOMYRMEX_ERR_VERIFY_FAILED);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", alg, data, data_len, tag,
                                                           tag_len),
                 CODOMYRMEX_ERR_VERIFY_FAILED);
}

static void test_rejections(void)
{
    static const uint8_t bad_formats[] = {0x00, 0x02, 0x81, 0xFF};
    static const uint32_t bad_versions[] = {0, 1, 3, 4, 0x01000002u, 0xFFFFFFFFu};
    codomyrmex_key_manager *km = open_dir("rejections");
    uint8_t old[KEY_LEN];
    size_t old_len = 0;
    size_t a, i;

    check_section("rejections: bit flips, truncations, versions, format bytes");
    /* Version 1 is pruned: only version 2 verifies. */
    if (km == NULL || !CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN)) ||
        !CHECK_OK(codomyrmex_key_manager_rotate(km, "k", keys[1], KEY_LEN, old, sizeof old,
                                                &old_len)) ||
        !CHECK_OK(codomyrmex_key_manager_prune(km, "k", 1))) {
        codomyrmex_key_manager_free(km);
        return;
    }
    for (a = 0; a < ALG_COUNT; a++) {
        codomyrmex_keyring *kr = load(km, "k", ALGS[a], 0);
        size_t digest_len = DIGEST_LENS[a];
        size_t tag_len = CODOMYRMEX_TAG_OVERHEAD + digest_len;
        uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN + 1];
        uint8_t tag[TAG_MAX + 1];
        uint8_t bad[TAG_MAX + 1];
        uint8_t data[32];
        size_t len = 0;

        if (kr == NULL) {
            continue;
        }
        memcpy(data, message, sizeof data);
        CHECK_OK(codomyrmex_keyring_hmac(kr, data, sizeof data, mac, sizeof mac, &len));
        CHECK_OK(codomyrmex_keyring_hmac_tagged(kr, data, sizeof data, tag, sizeof tag, &len));
        CHECK_SIZE(len, tag_len);
        /* The controls: untouched, they verify. */
        CHECK_OK(codomyrmex_keyring_hmac_verify(kr, data, sizeof data, mac, digest_len));
        CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, data, sizeof data, tag, tag_len));

        /* Every single-bit flip of the MAC and of the tagged MAC. */
        for (i = 0; i < digest_len * 8; i++) {
            memcpy(bad, mac, digest_len);
            bad[i / 8] ^= (uint8_t)(1u << (i % 8));
            CHECK_STATUS(codomyrmex_keyring_hmac_verify(kr, data, sizeof data, bad, digest_len),
                         CODOMYRMEX_ERR_VERIFY_FAILED);
        }
        for (i = 0; i < tag_len * 8; i++) {
            memcpy(bad, tag, tag_len);
            bad[i / 8] ^= (uint8_t)(1u << (i % 8));
            check_tag_refused(kr, km, ALGS[a], data, sizeof data, bad, tag_len);
        }
        /* Every truncation, and one byte more. */
        for (i = 0; i < digest_len; i++) {
            CHECK_STATUS(codomyrmex_keyring_hmac_verify(kr, data, sizeof data, mac, i),
                         CODOMYRMEX_ERR_VERIFY_FAILED);
        }
        mac[digest_len] = 0;
        CHECK_STATUS(codomyrmex_keyring_hmac_verify(kr, data, sizeof data, mac, digest_len + 1),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        for (i = 0; i < tag_len; i++) {
            check_tag_refused(kr, km, ALGS[a], data, sizeof data, tag, i);
        }
        tag[tag_len] = 0;
        check_tag_refused(kr, km, ALGS[a], data, sizeof data, tag, tag_len + 1);
        /* The right MAC under a wrong, absent or zero version number. */
        for (i = 0; i < sizeof bad_versions / sizeof bad_versions[0]; i++) {
            memcpy(bad, tag, tag_len);
            bad[1] = (uint8_t)(bad_versions[i] >> 24);
            bad[2] = (uint8_t)(bad_versions[i] >> 16);
            bad[3] = (uint8_t)(bad_versions[i] >> 8);
            bad[4] = (uint8_t)bad_versions[i];
            check_tag_refused(kr, km, ALGS[a], data, sizeof data, bad, tag_len);
        }
        /* A tag made by hand with the pruned version 1's key. */
        make_tag(ALGS[a], digest_len, 1, keys[0], data, sizeof data, bad);
        check_tag_refused(kr, km, ALGS[a], data, sizeof data, bad, tag_len);
        /* Bad format bytes. */
        for (i = 0; i < sizeof bad_formats; i++) {
            memcpy(bad, tag, tag_len);
            bad[0] = bad_formats[i];
            check_tag_refused(kr, km, ALGS[a], data, sizeof data, bad, tag_len);
        }
        /* Other data: one bit of it flipped. */
        data[7] ^= 0x10;
        CHECK_STATUS(codomyrmex_keyring_hmac_verify(kr, data, sizeof data, mac, digest_len),
                     CODOMYRMEX_ERR_VERIFY_FAILED);
        check_tag_refused(kr, km, ALGS[a], data, sizeof data, tag, tag_len);
        /* The controls still verify afterwards. */
        data[7] ^= 0x10;
        CHECK_OK(codomyrmex_keyring_hmac_verify(kr, data, sizeof data, mac, digest_len));
        CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, data, sizeof data, tag, tag_len));
        codomyrmex_keyring_free(kr);
    }
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * Refresh
 */

static void test_refresh(void)
{
    codomyrmex_key_manager *km = open_dir("refresh");
    codomyrmex_keyring *kr;
    uint8_t old[KEY_LEN];
    uint8_t out[TAG_MAX];
    uint8_t v1_tag[TAG_MAX], staged_tag[TAG_MAX];
    size_t old_len = 0, len = LEN_SENTINEL;
    uint32_t staged = 0, version = 0;
    bool changed = false;

    check_section("refresh: nothing changed");
    if (km == NULL || !CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN))) {
        codomyrmex_key_manager_free(km);
        return;
    }
    kr = load(km, "k", CODOMYRMEX_SHA256, 0);
    if (kr == NULL) {
        codomyrmex_key_manager_free(km);
        return;
    }
    CHECK_INT(kr_version(kr), 1);
    check_refresh(kr, false);
    check_refresh(kr, false);
    make_tag(CODOMYRMEX_SHA256, 32, 1, keys[0], message, 32, v1_tag);

    check_section("refresh: after a rotation");
    CHECK_OK(codomyrmex_key_manager_rotate(km, "k", keys[1], KEY_LEN, old, sizeof old, &old_len));
    /* refresh_ms 0: nothing changes by itself. */
    sleep_ms(20);
    CHECK_INT(kr_version(kr), 1);
    check_macs_with(kr, NULL, "k", CODOMYRMEX_SHA256, 32, keys[0]);
    check_refresh(kr, true);
    CHECK_INT(kr_version(kr), 2);
    CHECK_INT(kr_version(kr), km_version(km, "k"));
    check_macs_with(kr, km, "k", CODOMYRMEX_SHA256, 32, keys[1]);
    check_refresh(kr, false);
    /* The retained version 1 still verifies. */
    CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, v1_tag, 37));

    check_section("refresh: after a prune");
    CHECK_OK(codomyrmex_key_manager_prune(km, "k", 1));
    check_refresh(kr, true);
    CHECK_STATUS(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, v1_tag, 37),
                 CODOMYRMEX_ERR_VERIFY_FAILED);
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(km, "k", CODOMYRMEX_SHA256, message, 32,
                                                           v1_tag, 37),
                 CODOMYRMEX_ERR_VERIFY_FAILED);
    CHECK_INT(kr_version(kr), 2);
    check_macs_with(kr, km, "k", CODOMYRMEX_SHA256, 32, keys[1]);

    check_section("refresh: after staging");
    CHECK_OK(codomyrmex_key_manager_stage(km, "k", keys[2], KEY_LEN, &staged));
    CHECK_INT(staged, 3);
    make_tag(CODOMYRMEX_SHA256, 32, staged, keys[2], message, 32, staged_tag);
    CHECK_STATUS(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, staged_tag, 37),
                 CODOMYRMEX_ERR_VERIFY_FAILED);
    check_refresh(kr, true);
    CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, staged_tag, 37));
    CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(km, "k", CODOMYRMEX_SHA256, message, 32,
                                                       staged_tag, 37));
    /* MACs are still made with the current version 2. */
    CHECK_INT(kr_version(kr), 2);
    check_macs_with(kr, km, "k", CODOMYRMEX_SHA256, 32, keys[1]);
    CHECK_OK(codomyrmex_keyring_hmac_tagged(kr, message, 32, out, sizeof out, &len));
    CHECK_INT(out[4], 2);

    check_section("refresh: after a promotion");
    CHECK_OK(codomyrmex_key_manager_promote(km, "k", staged));
    check_refresh(kr, true);
    CHECK_INT(kr_version(kr), staged);
    check_macs_with(kr, km, "k", CODOMYRMEX_SHA256, 32, keys[2]);
    CHECK_OK(codomyrmex_keyring_hmac_tagged(kr, message, 32, out, sizeof out, &len));
    CHECK_SIZE(len, 37);
    CHECK_BYTES(out, staged_tag, 37);
    check_refresh(kr, false);

    check_section("refresh: after a delete");
    CHECK_OK(codomyrmex_key_manager_delete(km, "k"));
    /* Until refreshed, the last keys are served. */
    check_macs_with(kr, NULL, "k", CODOMYRMEX_SHA256, 32, keys[2]);
    changed = true;
    CHECK_STATUS(codomyrmex_keyring_refresh(kr, &changed), CODOMYRMEX_ERR_NOT_FOUND);
    CHECK(changed);
    memset(out, FILL, sizeof out);
    len = LEN_SENTINEL;
    version = 99;
    CHECK_STATUS(codomyrmex_keyring_hmac(kr, message, 32, out, sizeof out, &len),
                 CODOMYRMEX_ERR_NOT_FOUND);
    CHECK(message_has("deleted"));
    CHECK_STATUS(codomyrmex_keyring_hmac_tagged(kr, message, 32, out, sizeof out, &len),
                 CODOMYRMEX_ERR_NOT_FOUND);
    CHECK_SIZE(len, LEN_SENTINEL);
    CHECK_FILLED(out, sizeof out, FILL);
    CHECK_STATUS(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, staged_tag, 37),
                 CODOMYRMEX_ERR_NOT_FOUND);
    CHECK_STATUS(codomyrmex_keyring_hmac_verify(kr, message, 32, staged_tag + 5, 32),
                 CODOMYRMEX_ERR_NOT_FOUND);
    CHECK_STATUS(codomyrmex_keyring_current_version(kr, &version), CODOMYRMEX_ERR_NOT_FOUND);
    CHECK_INT(version, 99);
    CHECK_STATUS(codomyrmex_keyring_refresh(kr, &changed), CODOMYRMEX_ERR_NOT_FOUND);

    check_section("refresh: stored again, the next refresh loads it");
    CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[3], KEY_LEN));
    check_refresh(kr, true);
    CHECK_INT(kr_version(kr), 1);
    check_macs_with(kr, km, "k", CODOMYRMEX_SHA256, 32, keys[3]);
    /* The old versions are gone with the delete. */
    CHECK_STATUS(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, staged_tag, 37),
                 CODOMYRMEX_ERR_VERIFY_FAILED);
    check_refresh(kr, false);

    codomyrmex_keyring_free(kr);
    codomyrmex_key_manager_free(km);
}

/* Polls `kr` (never refreshing it) until its current version is
 * `version`, for at most `limit` seconds; true if it got there. */
static bool wait_for_version(const codomyrmex_keyring *kr, uint32_t version, double limit,
                             double *waited)
{
    double start = now_seconds();
    uint32_t seen = 0;

    for (;;) {
        codomyrmex_status st = codomyrmex_keyring_current_version(kr, &seen);

        *waited = now_seconds() - start;
        if (st == CODOMYRMEX_OK && seen == version) {
            return true;
        }
        if (*waited > limit) {
            fprintf(stderr, "    still at version %u (status %d) after %.3f s\n", seen, (int)st,
                    *waited);
            return false;
        }
        sleep_ms(1);
    }
}

/* Polls `kr` until MACs fail with NOT_FOUND, for at most `limit` seconds. */
static bool wait_for_deletion(const codomyrmex_keyring *kr, double limit, double *waited)
{
    double start = now_seconds();
    uint8_t out[CODOMYRMEX_MAX_DIGEST_LEN];
    size_t len = 0;

    for (;;) {
        codomyrmex_status st = codomyrmex_keyring_hmac(kr, message, 8, out, sizeof out, &len);

        *waited = now_seconds() - start;
        if (st == CODOMYRMEX_ERR_NOT_FOUND) {
            return true;
        }
        if (st != CODOMYRMEX_OK || *waited > limit) {
            fprintf(stderr, "    status %d after %.3f s\n", (int)st, *waited);
            return false;
        }
        sleep_ms(1);
    }
}

static void test_refresh_by_itself(void)
{
    codomyrmex_key_manager *km = open_dir("refresh-ms");
    codomyrmex_keyring *kr;
    codomyrmex_keyring *manual;
    uint8_t old[KEY_LEN];
    size_t old_len = 0;
    double waited = 0;

    check_section("refresh_ms 5: a rotation is seen without an explicit refresh");
    if (km == NULL || !CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN))) {
        codomyrmex_key_manager_free(km);
        return;
    }
    kr = load(km, "k", CODOMYRMEX_SHA384, 5);
    manual = load(km, "k", CODOMYRMEX_SHA384, 0);
    if (kr == NULL || manual == NULL) {
        codomyrmex_keyring_free(kr);
        codomyrmex_keyring_free(manual);
        codomyrmex_key_manager_free(km);
        return;
    }
    CHECK_OK(codomyrmex_key_manager_rotate(km, "k", keys[1], KEY_LEN, old, sizeof old, &old_len));
    CHECK(wait_for_version(kr, 2, 2.0, &waited));
    printf("refresh_ms 5: the rotation was seen after %.1f ms\n", waited * 1000);
    check_macs_with(kr, km, "k", CODOMYRMEX_SHA384, 48, keys[1]);
    /* refresh_ms 0 never reloads by itself. */
    CHECK_INT(kr_version(manual), 1);
    check_macs_with(manual, NULL, "k", CODOMYRMEX_SHA384, 48, keys[0]);

    check_section("refresh_ms 5: a delete, then the key stored again");
    CHECK_OK(codomyrmex_key_manager_delete(km, "k"));
    CHECK(wait_for_deletion(kr, 2.0, &waited));
    CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[2], KEY_LEN));
    CHECK(wait_for_version(kr, 1, 2.0, &waited));
    check_macs_with(kr, km, "k", CODOMYRMEX_SHA384, 48, keys[2]);
    codomyrmex_keyring_free(manual);
    codomyrmex_keyring_free(kr);
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * A reload that fails
 */

static void test_failed_reload(void)
{
    char dir[TEST_PATH_MAX], key_file[TEST_PATH_MAX], target[TEST_PATH_MAX];
    char link_tmp[TEST_PATH_MAX];
    codomyrmex_key_manager *km = open_dir("failing");
    codomyrmex_keyring *kr = NULL, *polling = NULL;
    uint8_t tag[TAG_MAX];
    uint8_t old[KEY_LEN];
    size_t len = 0, old_len = 0;
    uint32_t version = 0;
    bool changed = true;
    int i;

    check_section("a failed reload: the key file replaced by a symbolic link");
    if (km == NULL || !CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN)) ||
        !CHECK_OK(codomyrmex_key_manager_rotate(km, "k", keys[1], KEY_LEN, old, sizeof old,
                                                &old_len))) {
        codomyrmex_key_manager_free(km);
        return;
    }
    kr = load(km, "k", CODOMYRMEX_SHA256, 0);
    polling = load(km, "k", CODOMYRMEX_SHA256, 1);
    if (kr == NULL || polling == NULL) {
        goto done;
    }
    CHECK_OK(codomyrmex_keyring_hmac_tagged(kr, message, 32, tag, sizeof tag, &len));
    path_join(dir, base, "failing");
    path_join(key_file, dir, "k.key");
    path_join(link_tmp, dir, ".k.key.link");
    put_file(target, base, "elsewhere.key", keys[4], 0600);
    CHECK_INT(symlink(target, link_tmp), 0);
    CHECK_INT(rename(link_tmp, key_file), 0);

    CHECK_STATUS(codomyrmex_keyring_refresh(kr, &changed), CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    CHECK(changed);
    CHECK(message_has("k.key"));
    /* The last good keys are still served, MACs and verification alike. */
    CHECK_OK(codomyrmex_keyring_current_version(kr, &version));
    CHECK_INT(version, 2);
    check_macs_with(kr, NULL, "k", CODOMYRMEX_SHA256, 32, keys[1]);
    CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, tag, len));
    /* Every refresh tries again and reports it again. */
    CHECK_STATUS(codomyrmex_keyring_refresh(kr, &changed), CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    /* A keyring that checks by itself keeps serving too. */
    for (i = 0; i < 20; i++) {
        check_macs_with(polling, NULL, "k", CODOMYRMEX_SHA256, 32, keys[1]);
        sleep_ms(2);
    }
    CHECK_INT(kr_version(polling), 2);
    CHECK_STATUS(codomyrmex_keyring_refresh(polling, &changed),
                 CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    /* The key manager refuses the link just the same. */
    CHECK_STATUS(codomyrmex_key_manager_hmac(km, "k", CODOMYRMEX_SHA256, message, 32, old,
                                             sizeof old, &len),
                 CODOMYRMEX_ERR_INSECURE_PERMISSIONS);

    check_section("a failed reload: repaired, the next refresh loads the key");
    CHECK_INT(unlink(key_file), 0);
    CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[5], KEY_LEN));
    check_refresh(kr, true);
    CHECK_INT(kr_version(kr), km_version(km, "k"));
    check_macs_with(kr, km, "k", CODOMYRMEX_SHA256, 32, keys[5]);

done:
    codomyrmex_keyring_free(polling);
    codomyrmex_keyring_free(kr);
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * The keyring outlives its key manager
 */

static void test_outlives_manager(void)
{
    codomyrmex_key_manager *km = open_dir("outlives");
    codomyrmex_keyring *kr;
    uint8_t old[KEY_LEN];
    uint8_t tag[TAG_MAX];
    size_t old_len = 0, len = 0;

    check_section("a keyring keeps working after codomyrmex_key_manager_free");
    if (km == NULL || !CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN))) {
        codomyrmex_key_manager_free(km);
        return;
    }
    kr = load(km, "k", CODOMYRMEX_SHA512, 0);
    codomyrmex_key_manager_free(km);
    if (kr == NULL) {
        return;
    }
    check_macs_with(kr, NULL, "k", CODOMYRMEX_SHA512, 64, keys[0]);
    CHECK_OK(codomyrmex_keyring_hmac_tagged(kr, message, 32, tag, sizeof tag, &len));
    CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, tag, len));
    check_refresh(kr, false);
    /* Changes made through another key manager are still seen. */
    km = open_dir("outlives");
    if (km != NULL) {
        CHECK_OK(codomyrmex_key_manager_rotate(km, "k", keys[1], KEY_LEN, old, sizeof old,
                                               &old_len));
        codomyrmex_key_manager_free(km);
    }
    check_refresh(kr, true);
    CHECK_INT(kr_version(kr), 2);
    check_macs_with(kr, NULL, "k", CODOMYRMEX_SHA512, 64, keys[1]);
    CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, tag, len));
    codomyrmex_keyring_free(kr);
}

/* ---------------------------------------------------------------------------
 * A mounted source laid out as the kubelet lays out a Secret volume
 */

/* Makes source/<ts>/ holding api.key (keys[current - 1]) and api.key.v<n>
 * (keys[n - 1]) for every n below `current`, points ..data at it by a
 * rename (as the kubelet swaps it) and adds the missing top-level links
 * "<name> -> ..data/<name>". */
static void publish(const char *source, const char *ts, int current)
{
    char dir[TEST_PATH_MAX], path[TEST_PATH_MAX], tmp_link[TEST_PATH_MAX];
    char data_link[TEST_PATH_MAX];
    int n;

    path_join(dir, source, ts);
    CHECK_INT(mkdir(dir, 0755), 0);
    put_file(path, dir, "api.key", keys[current - 1], 0644);
    for (n = 1; n < current; n++) {
        char name[32];

        snprintf(name, sizeof name, "api.key.v%d", n);
        put_file(path, dir, name, keys[n - 1], 0644);
    }
    path_join(tmp_link, source, "..data_tmp");
    path_join(data_link, source, "..data");
    CHECK_INT(symlink(ts, tmp_link), 0);
    CHECK_INT(rename(tmp_link, data_link), 0);
    for (n = 1; n <= current; n++) {
        char name[32], visible[TEST_PATH_MAX], target[TEST_PATH_MAX];

        if (n == current) {
            snprintf(name, sizeof name, "api.key");
        } else {
            snprintf(name, sizeof name, "api.key.v%d", n);
        }
        path_join(visible, source, name);
        path_join(target, "..data", name);
        if (!path_exists(visible)) {
            CHECK_INT(symlink(target, visible), 0);
        }
    }
}

static void test_mounted(void)
{
    char source[TEST_PATH_MAX], location[TEST_PATH_MAX + 16], old_ts[TEST_PATH_MAX];
    codomyrmex_key_manager *km = NULL;
    codomyrmex_keyring *kr = NULL, *polling = NULL;
    uint8_t tag[TAG_MAX], out[TAG_MAX];
    size_t len = 0;
    double waited = 0;

    check_section("mounted: a keyring on a Kubernetes-style volume");
    path_join(source, base, "volume");
    CHECK_INT(mkdir(source, 0755), 0);
    publish(source, "..2024_05_01_10_00_00.1234567", 2);
    snprintf(location, sizeof location, "mounted:%s", source);
    if (!CHECK_OK(codomyrmex_key_manager_open_with(location, NULL, &km))) {
        return;
    }
    kr = load(km, "api", CODOMYRMEX_SHA256, 0);
    polling = load(km, "api", CODOMYRMEX_SHA256, 5);
    if (kr == NULL || polling == NULL) {
        goto done;
    }
    CHECK_INT(kr_version(kr), 2);
    check_macs_with(kr, km, "api", CODOMYRMEX_SHA256, 32, keys[1]);
    make_tag(CODOMYRMEX_SHA256, 32, 1, keys[0], message, 32, tag);
    CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, tag, 37));
    CHECK_OK(codomyrmex_keyring_hmac_tagged(kr, message, 32, out, sizeof out, &len));
    make_tag(CODOMYRMEX_SHA256, 32, 2, keys[1], message, 32, tag);
    CHECK_BYTES(out, tag, 37);
    check_refresh(kr, false);

    check_section("mounted: the kubelet's ..data swap");
    publish(source, "..2024_05_01_11_00_00.7654321", 3);
    path_join(old_ts, source, "..2024_05_01_10_00_00.1234567");
    CHECK(remove_tree(old_ts));
    check_refresh(kr, true);
    CHECK_INT(kr_version(kr), 3);
    check_macs_with(kr, km, "api", CODOMYRMEX_SHA256, 32, keys[2]);
    CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, tag, 37));
    make_tag(CODOMYRMEX_SHA256, 32, 1, keys[0], message, 32, tag);
    CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(kr, message, 32, tag, 37));
    check_refresh(kr, false);
    CHECK(wait_for_version(polling, 3, 2.0, &waited));
    check_macs_with(polling, km, "api", CODOMYRMEX_SHA256, 32, keys[2]);

done:
    codomyrmex_keyring_free(polling);
    codomyrmex_keyring_free(kr);
    codomyrmex_key_manager_free(km);
}

/* ---------------------------------------------------------------------------
 * A sealed store
 */

static void test_sealed(void)
{
    static const uint8_t magic[8] = {0x89, 'C', 'D', 'X', 'S', 'E', 'A', 'L'};
    char kek[TEST_PATH_MAX], dir[TEST_PATH_MAX], key_file[TEST_PATH_MAX];
    uint8_t kek_bytes[32];
    codomyrmex_key_manager *plain = open_dir("plain");
    codomyrmex_key_manager *sealed = NULL;
    codomyrmex_open_options *opts = NULL;
    uint8_t old[KEY_LEN];
    size_t old_len = 0;
    size_t a, s;

    check_section("sealed: the same MACs as a plain store");
    CHECK_OK(codomyrmex_random_bytes(kek_bytes, sizeof kek_bytes));
    path_join(kek, base, "store.kek");
    CHECK(write_file(kek, kek_bytes, sizeof kek_bytes, 0600));
    path_join(dir, base, "sealed");
    if (plain == NULL || !CHECK_OK(codomyrmex_open_options_new(&opts))) {
        codomyrmex_key_manager_free(plain);
        return;
    }
    CHECK_OK(codomyrmex_open_options_set_kek_file(opts, kek));
    CHECK_OK(codomyrmex_open_options_set_require_sealed(opts, true));
    if (!CHECK_OK(codomyrmex_key_manager_open_with(dir, opts, &sealed))) {
        codomyrmex_open_options_free(opts);
        codomyrmex_key_manager_free(plain);
        return;
    }
    codomyrmex_open_options_free(opts);
    CHECK_OK(codomyrmex_key_manager_store(plain, "k", keys[0], KEY_LEN));
    CHECK_OK(codomyrmex_key_manager_store(sealed, "k", keys[0], KEY_LEN));
    CHECK_OK(codomyrmex_key_manager_rotate(plain, "k", keys[1], KEY_LEN, old, sizeof old, &old_len));
    CHECK_OK(codomyrmex_key_manager_rotate(sealed, "k", keys[1], KEY_LEN, old, sizeof old,
                                           &old_len));
    /* The sealed store's key file is sealed, not the key. */
    path_join(key_file, dir, "k.key");
    {
        uint8_t head[8] = {0};
        FILE *f = fopen(key_file, "rb");

        if (CHECK(f != NULL)) {
            CHECK_SIZE(fread(head, 1, sizeof head, f), sizeof head);
            CHECK_BYTES(head, magic, sizeof magic);
            fclose(f);
        }
    }
    for (a = 0; a < ALG_COUNT; a++) {
        codomyrmex_keyring *from_plain = load(plain, "k", ALGS[a], 0);
        codomyrmex_keyring *from_sealed = load(sealed, "k", ALGS[a], 0);

        if (from_plain == NULL || from_sealed == NULL) {
            codomyrmex_keyring_free(from_plain);
            codomyrmex_keyring_free(from_sealed);
            continue;
        }
        CHECK_INT(kr_version(from_sealed), 2);
        for (s = 0; s < SIZE_COUNT; s++) {
            uint8_t p[TAG_MAX], q[TAG_MAX];
            size_t p_len = 0, q_len = 1;

            CHECK_OK(codomyrmex_keyring_hmac(from_plain, message, MESSAGE_SIZES[s], p, sizeof p,
                                             &p_len));
            CHECK_OK(codomyrmex_keyring_hmac(from_sealed, message, MESSAGE_SIZES[s], q, sizeof q,
                                             &q_len));
            CHECK_SIZE(q_len, p_len);
            CHECK_BYTES(q, p, p_len);
            CHECK_OK(codomyrmex_keyring_hmac_tagged(from_plain, message, MESSAGE_SIZES[s], p,
                                                    sizeof p, &p_len));
            CHECK_OK(codomyrmex_keyring_hmac_tagged(from_sealed, message, MESSAGE_SIZES[s], q,
                                                    sizeof q, &q_len));
            CHECK_SIZE(q_len, p_len);
            CHECK_BYTES(q, p, p_len);
            CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(sealed, "k", ALGS[a], message,
                                                               MESSAGE_SIZES[s], p, p_len));
        }
        /* A tag of the retained (sealed) version 1. */
        {
            uint8_t tag[TAG_MAX];
            size_t tag_len = make_tag(ALGS[a], DIGEST_LENS[a], 1, keys[0], message, 32, tag);

            CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(from_sealed, message, 32, tag, tag_len));
        }
        codomyrmex_keyring_free(from_plain);
        codomyrmex_keyring_free(from_sealed);
    }

    check_section("sealed: a rotation is seen by a refresh");
    {
        codomyrmex_keyring *kr = load(sealed, "k", CODOMYRMEX_SHA256, 0);

        if (kr != NULL) {
            CHECK_OK(codomyrmex_key_manager_rotate(sealed, "k", keys[2], KEY_LEN, old, sizeof old,
                                                   &old_len));
            check_refresh(kr, true);
            CHECK_INT(kr_version(kr), 3);
            check_macs_with(kr, sealed, "k", CODOMYRMEX_SHA256, 32, keys[2]);
            codomyrmex_keyring_free(kr);
        }
    }
    codomyrmex_key_manager_free(sealed);
    codomyrmex_key_manager_free(plain);
}

/* ---------------------------------------------------------------------------
 * Threads sharing one keyring
 */

#define THREADS 4
#define THREAD_ROUNDS 2000

struct worker {
    const codomyrmex_keyring *kr;
    unsigned index;
    unsigned long failures;
    unsigned long backwards;
    uint32_t highest;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    uint8_t data[16], tag[CODOMYRMEX_TAG_OVERHEAD + 32];
    unsigned i;

    memset(data, (int)w->index, sizeof data);
    for (i = 0; i < THREAD_ROUNDS; i++) {
        size_t len = 0;
        uint32_t version;

        memcpy(data, &i, sizeof i);
        if (codomyrmex_keyring_hmac_tagged(w->kr, data, sizeof data, tag, sizeof tag, &len) !=
                CODOMYRMEX_OK ||
            codomyrmex_keyring_hmac_verify_tagged(w->kr, data, sizeof data, tag, len) !=
                CODOMYRMEX_OK) {
            w->failures++;
            continue;
        }
        version = (uint32_t)tag[1] << 24 | (uint32_t)tag[2] << 16 | (uint32_t)tag[3] << 8 | tag[4];
        if (version < w->highest) {
            w->backwards++;
        }
        w->highest = version > w->highest ? version : w->highest;
    }
    return NULL;
}

static void test_threads(void)
{
    codomyrmex_key_manager *km;
    codomyrmex_keyring *kr;
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    unsigned started = 0, i;
    int r;

    check_section("threads: one keyring, rotations and refreshes meanwhile");
    if (threads_skipped()) {
        printf("skipped: threads (CODOMYRMEX_TEST_SKIP_THREADS=1)\n");
        return;
    }
    km = open_dir("threads");
    if (km == NULL || !CHECK_OK(codomyrmex_key_manager_store(km, "k", keys[0], KEY_LEN))) {
        codomyrmex_key_manager_free(km);
        return;
    }
    kr = load(km, "k", CODOMYRMEX_SHA256, 1);
    if (kr == NULL) {
        codomyrmex_key_manager_free(km);
        return;
    }
    for (i = 0; i < THREADS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].kr = kr;
        workers[i].index = i;
        if (CHECK_INT(pthread_create(&threads[i], NULL, work, &workers[i]), 0)) {
            started++;
        }
    }
    /* Every version stays: each tag a thread makes must verify. */
    for (r = 0; r < 20; r++) {
        uint8_t old[KEY_LEN];
        size_t old_len = 0;
        bool changed = false;

        CHECK_OK(codomyrmex_key_manager_rotate(km, "k", keys[(r + 1) % 6], KEY_LEN, old,
                                               sizeof old, &old_len));
        if (r % 2 == 0) {
            CHECK_OK(codomyrmex_keyring_refresh(kr, &changed));
        }
        sleep_ms(1);
    }
    for (i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        CHECK_INT(workers[i].failures, 0);
        CHECK_INT(workers[i].backwards, 0);
        CHECK(workers[i].highest >= 1 && workers[i].highest <= 21);
    }
    /* The last rotation is seen, by a refresh if not already by a call. */
    {
        bool changed = false;

        CHECK_OK(codomyrmex_keyring_refresh(kr, &changed));
        CHECK_INT(kr_version(kr), 21);
        check_refresh(kr, false);
    }
    codomyrmex_keyring_free(kr);
    codomyrmex_key_manager_free(km);
}

int main(void)
{
    size_t i;

    make_temp_dir("keyring", base);
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        CHECK_OK(codomyrmex_random_bytes(keys[i], KEY_LEN));
    }
    for (i = 0; i < sizeof message; i++) {
        message[i] = (uint8_t)(i * 31 + 7);
    }
    test_arguments();
    test_size_queries();
    test_same_bytes();
    test_rejections();
    test_refresh();
    test_refresh_by_itself();
    test_failed_reload();
    test_outlives_manager();
    test_mounted();
    test_sealed();
    test_threads();
    check_section("cleanup");
    CHECK(remove_tree(base));
    return check_summary("test_keyring");
}
