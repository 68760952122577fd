/*
 * Overlapping buffers: every function with an output refuses an output
 * that shares memory with any other pointer argument
 * (CODOMYRMEX_ERR_INVALID_ARGUMENT), writes nothing and changes nothing on
 * disk; the same call with separate buffers succeeds. Inputs and outputs
 * all live in one arena here, so each case is an offset away from the
 * control that shows the answer it would otherwise have corrupted.
 */
#define _XOPEN_SOURCE 700

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "codomyrmex_keys.h"
#include "test_util.h"

#define ARENA 2048

static uint8_t arena[ARENA];
static uint8_t before[ARENA];

/* Fills the arena with a pattern and remembers it. */
static void reset(void)
{
    size_t i;

    for (i = 0; i < ARENA; i++) {
        arena[i] = (uint8_t)(i * 7 + 3);
    }
}

static void snapshot(void)
{
    memcpy(before, arena, ARENA);
}

/* The call was refused and wrote nothing. */
#define CHECK_REFUSED(call)                                                  \
    do {                                                                     \
        snapshot();                                                          \
        CHECK_STATUS(call, CODOMYRMEX_ERR_INVALID_ARGUMENT);                 \
        CHECK(memcmp(arena, before, ARENA) == 0);                            \
    } while (0)

static void test_hmac(void)
{
    uint8_t *key = arena, *data = arena + 64, *out = arena + 512;
    size_t *out_len = (size_t *)(void *)(arena + 1024);
    uint8_t expected[CODOMYRMEX_MAX_DIGEST_LEN];
    size_t len = 0;

    check_section("hmac_compute and hmac_finish");
    reset();
    CHECK_OK(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 32, data, 100, expected, sizeof expected, &len));
    /* The output over the key, over the data, exactly on the data. */
    CHECK_REFUSED(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 32, data, 100, key + 16, 64, &len));
    CHECK_REFUSED(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 32, data, 100, data + 99, 64, &len));
    CHECK_REFUSED(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 32, data, 100, data, 64, &len));
    /* The length out-parameter inside the output or an input. */
    CHECK_REFUSED(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 32, data, 100, out, 64,
                                          (size_t *)(void *)(out + 8)));
    CHECK_REFUSED(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 32, data, 100, out, 64,
                                          (size_t *)(void *)(data + 8)));
    /* Separate buffers: the same answer as before. */
    CHECK_OK(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, key, 32, data, 100, out, 64, out_len));
    CHECK_BYTES(out, expected, 32);
    {
        codomyrmex_hmac *ctx = NULL;

        CHECK_REFUSED(codomyrmex_hmac_new(CODOMYRMEX_SHA256, key, 32,
                                          (codomyrmex_hmac **)(void *)(key + 8)));
        if (CHECK_OK(codomyrmex_hmac_new(CODOMYRMEX_SHA256, key, 32, &ctx))) {
            CHECK_OK(codomyrmex_hmac_update(ctx, data, 100));
            CHECK_REFUSED(codomyrmex_hmac_finish(ctx, out, 64, (size_t *)(void *)(out + 16)));
            /* The refused finish left the stream as it was. */
            CHECK_OK(codomyrmex_hmac_finish(ctx, out, 64, out_len));
            CHECK_BYTES(out, expected, 32);
            codomyrmex_hmac_free(ctx);
        }
    }
}

static void test_hkdf(void)
{
    uint8_t *ikm = arena, *salt = arena + 64, *info = arena + 128, *okm = arena + 512;
    uint8_t expected[64];
    size_t len = 0;

    check_section("hkdf_derive, hkdf_extract, hkdf_expand");
    reset();
    CHECK_OK(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, ikm, 32, salt, 32, info, 40, expected, 64));
    /* The review's case: the output over the info. */
    CHECK_REFUSED(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, ikm, 32, salt, 32, info, 40, info - 8, 64));
    CHECK_REFUSED(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, ikm, 32, salt, 32, info, 40, info, 40));
    CHECK_REFUSED(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, ikm, 32, salt, 32, info, 40, salt + 31, 64));
    CHECK_REFUSED(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, ikm, 32, salt, 32, info, 40, ikm, 1));
    CHECK_OK(codomyrmex_hkdf_derive(CODOMYRMEX_SHA256, ikm, 32, salt, 32, info, 40, okm, 64));
    CHECK_BYTES(okm, expected, 64);

    reset();
    CHECK_OK(codomyrmex_hkdf_extract(CODOMYRMEX_SHA256, salt, 32, ikm, 32, expected, 64, &len));
    CHECK_REFUSED(codomyrmex_hkdf_extract(CODOMYRMEX_SHA256, salt, 32, ikm, 32, salt, 64, &len));
    CHECK_REFUSED(codomyrmex_hkdf_extract(CODOMYRMEX_SHA256, salt, 32, ikm, 32, ikm + 20, 64, &len));
    CHECK_REFUSED(codomyrmex_hkdf_extract(CODOMYRMEX_SHA256, salt, 32, ikm, 32, okm, 64,
                                          (size_t *)(void *)(okm + 24)));

    reset();
    CHECK_OK(codomyrmex_hkdf_expand(CODOMYRMEX_SHA256, ikm, 32, info, 40, expected, 64));
    CHECK_REFUSED(codomyrmex_hkdf_expand(CODOMYRMEX_SHA256, ikm, 32, info, 40, ikm + 31, 64));
    CHECK_REFUSED(codomyrmex_hkdf_expand(CODOMYRMEX_SHA256, ikm, 32, info, 40, info + 39, 2));
    CHECK_OK(codomyrmex_hkdf_expand(CODOMYRMEX_SHA256, ikm, 32, info, 40, okm, 64));
    CHECK_BYTES(okm, expected, 64);
}

static void test_library(void)
{
    char *name = (char *)arena;

    check_section("hash_alg_from_name");
    reset();
    strcpy(name, "sha384");
    CHECK_REFUSED(codomyrmex_hash_alg_from_name(name, (codomyrmex_hash_alg *)(void *)(arena + 4)));
}

/* Stores "k" (version 1) in a new key directory under base. */
static codomyrmex_key_manager *open_store(const char *base)
{
    char dir[TEST_PATH_MAX];
    codomyrmex_key_manager *km = NULL;
    static const uint8_t key[32] = "version one of the key k ......";

    path_join(dir, base, "keys");
    if (!CHECK_OK(codomyrmex_key_manager_open(dir, &km))) {
        return NULL;
    }
    CHECK_OK(codomyrmex_key_manager_store(km, "k", key, sizeof key));
    return km;
}

static void test_key_manager_reads(codomyrmex_key_manager *km)
{
    char *id = (char *)arena;
    uint8_t *out = arena + 256;
    size_t len = 0, count = 0;
    uint32_t version = 0;
    bool exists = false;

    check_section("key manager: outputs over the key id and each other");
    reset();
    strcpy(id, "k");
    CHECK_REFUSED(codomyrmex_key_manager_get(km, id, (uint8_t *)id, 64, &len));
    CHECK_REFUSED(codomyrmex_key_manager_get(km, id, out, 64, (size_t *)(void *)(out + 8)));
    CHECK_REFUSED(codomyrmex_key_manager_get_version(km, id, 1, (uint8_t *)id + 1, 64, &len));
    CHECK_REFUSED(codomyrmex_key_manager_list(km, (char *)out, 64, &len, (size_t *)(void *)(out + 8)));
    CHECK_REFUSED(codomyrmex_key_manager_list(km, (char *)out, 64, (size_t *)(void *)(arena + 1024),
                                              (size_t *)(void *)(arena + 1024)));
    CHECK_REFUSED(codomyrmex_key_manager_dir(km, (char *)out, 256, (size_t *)(void *)(out + 100)));
    CHECK_REFUSED(codomyrmex_key_manager_list_versions(km, id, (uint32_t *)(void *)arena, 4, &len));
    CHECK_REFUSED(codomyrmex_key_manager_current_version(km, id, (uint32_t *)(void *)arena));
    CHECK_REFUSED(codomyrmex_key_manager_exists(km, id, (bool *)(void *)(arena + 1)));
    CHECK_OK(codomyrmex_key_manager_get(km, id, out, 64, &len));
    CHECK_OK(codomyrmex_key_manager_list(km, (char *)out, 64, &len, &count));
    CHECK_SIZE(count, 1);
    CHECK_OK(codomyrmex_key_manager_current_version(km, id, &version));
    CHECK_OK(codomyrmex_key_manager_exists(km, id, &exists));
    CHECK(exists);
}

static void test_key_manager_uses(codomyrmex_key_manager *km)
{
    char *id = (char *)arena;
    uint8_t *data = arena + 64, *out = arena + 512;
    uint8_t expected[64];
    size_t len = 0;

    check_section("key manager: HMAC, tagged MAC, HKDF");
    reset();
    strcpy(id, "k");
    CHECK_OK(codomyrmex_key_manager_hmac(km, id, CODOMYRMEX_SHA256, data, 100, expected, 64, &len));
    CHECK_REFUSED(codomyrmex_key_manager_hmac(km, id, CODOMYRMEX_SHA256, data, 100, data + 50, 64, &len));
    CHECK_REFUSED(codomyrmex_key_manager_hmac(km, id, CODOMYRMEX_SHA256, data, 100, (uint8_t *)id, 64, &len));
    CHECK_REFUSED(codomyrmex_key_manager_hmac_version(km, id, 1, CODOMYRMEX_SHA256, data, 100, data, 64, &len));
    CHECK_REFUSED(codomyrmex_key_manager_hmac_tagged(km, id, CODOMYRMEX_SHA256, data, 100, data + 1, 69, &len));
    CHECK_OK(codomyrmex_key_manager_hmac(km, id, CODOMYRMEX_SHA256, data, 100, out, 64, &len));
    CHECK_BYTES(out, expected, 32);

    reset();
    strcpy(id, "k");
    CHECK_OK(codomyrmex_key_manager_derive(km, id, CODOMYRMEX_SHA256, data, 16, data + 16, 16, expected, 64));
    CHECK_REFUSED(codomyrmex_key_manager_derive(km, id, CODOMYRMEX_SHA256, data, 16, data + 16, 16, data + 16, 64));
    CHECK_REFUSED(codomyrmex_key_manager_derive(km, id, CODOMYRMEX_SHA256, data, 16, data + 16, 16, (uint8_t *)id, 8));
    CHECK_REFUSED(codomyrmex_key_manager_derive_version(km, id, 1, CODOMYRMEX_SHA256, data, 16, data + 16, 16, data, 64));
    CHECK_OK(codomyrmex_key_manager_derive(km, id, CODOMYRMEX_SHA256, data, 16, data + 16, 16, out, 64));
    CHECK_BYTES(out, expected, 64);
}

static void test_key_manager_writes(codomyrmex_key_manager *km)
{
    char *id = (char *)arena;
    uint8_t *key = arena + 64;
    size_t len = 0;
    uint32_t version = 0;

    check_section("key manager: a refused rotate changes nothing");
    reset();
    strcpy(id, "k");
    CHECK_REFUSED(codomyrmex_key_manager_rotate(km, id, key, 32, key + 16, 64, &len));
    CHECK_REFUSED(codomyrmex_key_manager_rotate(km, id, key, 32, (uint8_t *)id, 64, &len));
    CHECK_OK(codomyrmex_key_manager_current_version(km, "k", &version));
    CHECK_INT(version, 1);
}

static void test_keyring(codomyrmex_key_manager *km)
{
    char *id = (char *)arena;
    uint8_t *data = arena + 64, *out = arena + 512;
    size_t *out_len = (size_t *)(void *)(arena + 1024);
    uint8_t expected[CODOMYRMEX_TAG_OVERHEAD + 64];
    codomyrmex_keyring *kr = NULL;
    size_t len = 0;

    check_section("keyring: the handle over the key id, outputs over the data");
    reset();
    strcpy(id, "k");
    CHECK_REFUSED(codomyrmex_key_manager_load(km, id, CODOMYRMEX_SHA256, 0,
                                              (codomyrmex_keyring **)(void *)(arena + 1)));
    if (!CHECK_OK(codomyrmex_key_manager_load(km, id, CODOMYRMEX_SHA256, 0, &kr))) {
        return;
    }
    CHECK_OK(codomyrmex_keyring_hmac(kr, data, 100, expected, sizeof expected, &len));
    CHECK_REFUSED(codomyrmex_keyring_hmac(kr, data, 100, data + 50, 64, &len));
    CHECK_REFUSED(codomyrmex_keyring_hmac(kr, data, 100, data - 8, 64, &len));
    CHECK_REFUSED(codomyrmex_keyring_hmac(kr, data, 100, out, 64, (size_t *)(void *)(out + 8)));
    CHECK_REFUSED(codomyrmex_keyring_hmac(kr, data, 100, out, 64, (size_t *)(void *)(data + 8)));
    CHECK_OK(codomyrmex_keyring_hmac(kr, data, 100, out, 64, out_len));
    CHECK_SIZE(*out_len, 32);
    CHECK_BYTES(out, expected, 32);

    reset();
    CHECK_OK(codomyrmex_keyring_hmac_tagged(kr, data, 100, expected, sizeof expected, &len));
    CHECK_REFUSED(codomyrmex_keyring_hmac_tagged(kr, data, 100, data + 1, 69, &len));
    CHECK_REFUSED(codomyrmex_keyring_hmac_tagged(kr, data, 100, data + 99, 69, &len));
    CHECK_REFUSED(codomyrmex_keyring_hmac_tagged(kr, data, 100, out, 69,
                                                 (size_t *)(void *)(out + 64)));
    CHECK_REFUSED(codomyrmex_keyring_hmac_tagged(kr, data, 100, out, 69,
                                                 (size_t *)(void *)(data + 96)));
    CHECK_OK(codomyrmex_keyring_hmac_tagged(kr, data, 100, out, 69, out_len));
    CHECK_SIZE(*out_len, 37);
    CHECK_BYTES(out, expected, 37);
    codomyrmex_keyring_free(kr);
}

static void test_open(const char *base)
{
    char *dir = (char *)arena;
    char path[TEST_PATH_MAX];

    check_section("key_manager_open: the handle over the path");
    reset();
    path_join(path, base, "other");
    if (!CHECK(strlen(path) < 512)) {
        return;
    }
    strcpy(dir, path);
    CHECK_REFUSED(codomyrmex_key_manager_open(dir, (codomyrmex_key_manager **)(void *)(arena + 2)));
}

int main(void)
{
    char base[TEST_PATH_MAX];
    codomyrmex_key_manager *km;

    make_temp_dir("overlap", base);
    test_hmac();
    test_hkdf();
    test_library();
    km = open_store(base);
    if (km != NULL) {
        test_key_manager_reads(km);
        test_key_manager_uses(km);
        test_key_manager_writes(km);
        test_keyring(km);
        codomyrmex_key_manager_free(km);
    }
    test_open(base);
    remove_tree(base);
    return check_summary("test_overlap");
}
