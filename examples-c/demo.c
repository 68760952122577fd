/*
 * demo.c - a guided tour of the codomyrmex_keys C interface.
 *
 * It opens the default key directory, creates a key, rotates it, uses it
 * for an HMAC and for key derivation without ever reading it, and deletes
 * it again: it removes exactly what it created (its key, and the directory
 * and the library's bookkeeping files in it if they did not exist before),
 * and never touches anything else. Read it top to bottom; every step says
 * which function it shows.
 *
 * Three rules hold for every call, and this program follows them:
 *
 *   1. Every function returns a codomyrmex_status. CODOMYRMEX_OK (0) is
 *      success; anything else is an error, and then
 *      codomyrmex_status_name() names it and codomyrmex_last_error_message()
 *      explains it in one line.
 *   2. Variable-size outputs are (buffer, capacity, &length). Pass NULL, 0
 *      to learn the length: the call fails with
 *      CODOMYRMEX_ERR_BUFFER_TOO_SMALL and sets the length.
 *   3. Key material you receive is yours to wipe: codomyrmex_secure_zero().
 *
 * Build and run (from the crate root):
 *   cmake -S examples-c -B examples-c/build && cmake --build examples-c/build
 *   ./examples-c/build/demo
 *
 * The default key directory is $TMPDIR/codomyrmex_keys (else /tmp/...).
 * Temporary directories may be emptied at reboot: real programs pass a
 * stable directory to codomyrmex_key_manager_open() instead of NULL.
 */
#define _POSIX_C_SOURCE 200809L /* getpid */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codomyrmex_keys.h"

/* Reports a failed call and returns false; returns true on success.
 * Use as: if (!ok(codomyrmex_...(...), "what it did")) goto done; */
static bool ok(codomyrmex_status status, const char *what)
{
    char message[512];

    if (status == CODOMYRMEX_OK) {
        return true;
    }
    /* The message belongs to this thread and stays until the next failure. */
    codomyrmex_last_error_message(message, sizeof message);
    fprintf(stderr, "demo: %s failed: %s: %s\n", what,
            codomyrmex_status_name((uint32_t)status), message);
    return false;
}

/* Prints the first `len` bytes of `bytes` in hex. */
static void print_hex(const uint8_t *bytes, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        printf("%02x", bytes[i]);
    }
}

/* A key's fingerprint: the first 4 bytes of HMAC-SHA-256 of a fixed label
 * under the key. It tells keys apart without showing them. Computed inside
 * the library from the stored key, which never enters this program. */
static const char FINGERPRINT_LABEL[] = "codomyrmex demo fingerprint";

static bool stored_fingerprint(const codomyrmex_key_manager *km, const char *key_id,
                               uint8_t fingerprint[4])
{
    uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
    size_t mac_len = 0;

    if (!ok(codomyrmex_key_manager_hmac(km, key_id, CODOMYRMEX_SHA256,
                                        (const uint8_t *)FINGERPRINT_LABEL,
                                        strlen(FINGERPRINT_LABEL), mac, sizeof mac, &mac_len),
            "fingerprinting the stored key")) {
        return false;
    }
    memcpy(fingerprint, mac, 4);
    return true;
}

/* What existed in the default key directory before the demo opened it for
 * writing (opening creates the directory, its lock file `.lock` and its
 * version directory `.versions` when they are missing). */
struct found {
    char dir[4096];
    bool dir_existed;
    bool lock_existed;
    bool versions_existed;
};

static bool path_exists(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

/* Looks at the default key directory without creating anything: a
 * read-only open makes nothing, and fails if the directory is absent. */
static void look_before(struct found *found)
{
    codomyrmex_open_options *opts = NULL;
    codomyrmex_key_manager *peek = NULL;
    size_t len = 0;

    memset(found, 0, sizeof *found);
    if (codomyrmex_open_options_new(&opts) != CODOMYRMEX_OK) {
        return;
    }
    (void)codomyrmex_open_options_set_read_only(opts, true);
    if (codomyrmex_key_manager_open_with(NULL, opts, &peek) == CODOMYRMEX_OK &&
        codomyrmex_key_manager_dir(peek, found->dir, sizeof found->dir, &len) == CODOMYRMEX_OK) {
        found->dir_existed = true;
        found->lock_existed = path_exists(found->dir, ".lock");
        found->versions_existed = path_exists(found->dir, ".versions");
    }
    codomyrmex_key_manager_free(peek);
    codomyrmex_open_options_free(opts);
}

/* Removes what opening the default key directory created, and says so.
 * rmdir() only removes an empty directory, so anything another program
 * put there meanwhile stays. */
static void remove_what_opening_made(const struct found *found, const char *dir)
{
    char path[4200];

    if (!found->versions_existed) {
        snprintf(path, sizeof path, "%s/.versions", dir);
        if (rmdir(path) == 0) {
            printf("7. removed %s, which opening created\n", path);
        }
    }
    if (!found->lock_existed) {
        snprintf(path, sizeof path, "%s/.lock", dir);
        if (unlink(path) == 0) {
            printf("   removed %s, which opening created\n", path);
        }
    }
    if (!found->dir_existed) {
        if (rmdir(dir) == 0) {
            printf("   removed the key directory %s, which this demo created\n", dir);
        } else {
            printf("   kept the key directory %s: something else is in it now\n", dir);
        }
    } else {
        printf("   kept the key directory %s and its other contents, as found\n", dir);
    }
}

int main(void)
{
    codomyrmex_key_manager *km = NULL;
    struct found found;
    char key_id[64];
    bool key_created = false;
    int exit_code = 1;

    char *dir = NULL;
    size_t dir_len = 0;

    uint8_t before[4];
    uint8_t after[4];
    uint8_t new_key[32];
    uint8_t *old_key = NULL;
    size_t old_cap = 0;
    size_t old_len = 0;
    uint32_t version = 0;

    static const char message[] = "transfer 100 EUR to account 42";
    static const char tampered[] = "transfer 900 EUR to account 42";
    uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
    size_t mac_len = 0;
    codomyrmex_status verdict;

    static const char info[] = "demo: file encryption key, v1";
    uint8_t subkey[32];
    uint8_t subkey_again[32];

    bool exists = true;

    printf("codomyrmex_keys %s\n\n", codomyrmex_version());

    /* 1. Open the default key directory (NULL). It is created with mode
     *    0700 if absent; an existing one must be private to this user.
     *    (First a look at what is there, so the demo can leave it so.) */
    look_before(&found);
    if (!ok(codomyrmex_key_manager_open(NULL, &km), "opening the default key directory")) {
        goto done;
    }

    /*    Where is it? A size query first (NULL, 0), then the real call.
     *    For this function the length counts the terminating NUL. */
    if (codomyrmex_key_manager_dir(km, NULL, 0, &dir_len) != CODOMYRMEX_ERR_BUFFER_TOO_SMALL) {
        fprintf(stderr, "demo: the size query of the key directory did not report a size\n");
        goto done;
    }
    dir = malloc(dir_len);
    if (dir == NULL) {
        fprintf(stderr, "demo: out of memory\n");
        goto done;
    }
    if (!ok(codomyrmex_key_manager_dir(km, dir, dir_len, &dir_len), "reading the key directory")) {
        goto done;
    }
    printf("1. key directory: %s\n", dir);

    /* 2. Generate a random 32-byte key under a new id. generate refuses an
     *    id that exists (CODOMYRMEX_ERR_ALREADY_EXISTS), so it never
     *    overwrites a key by accident. The key stays inside the library. */
    snprintf(key_id, sizeof key_id, "demo-%ld", (long)getpid());
    if (!ok(codomyrmex_key_manager_generate(km, key_id, 32), "generating a key")) {
        goto done;
    }
    key_created = true;
    if (!stored_fingerprint(km, key_id, before)) {
        goto done;
    }
    printf("2. generated key '%s' (32 bytes), fingerprint ", key_id);
    print_hex(before, sizeof before);
    printf("\n");

    /* 3. Rotate: store a new key and get the previous one back, in one
     *    atomic step. The previous key's size comes from a size query
     *    (NULL, 0), which changes nothing on disk. The previous key is also
     *    kept as an older version (until codomyrmex_key_manager_prune), so
     *    data that depends on it stays usable. */
    if (!ok(codomyrmex_random_bytes(new_key, sizeof new_key), "making a new key")) {
        goto done;
    }
    if (codomyrmex_key_manager_rotate(km, key_id, new_key, sizeof new_key, NULL, 0, &old_len) !=
        CODOMYRMEX_ERR_BUFFER_TOO_SMALL) {
        fprintf(stderr, "demo: the size query of rotate did not report a size\n");
        goto done;
    }
    old_cap = old_len;
    old_key = malloc(old_cap);
    if (old_key == NULL) {
        fprintf(stderr, "demo: out of memory\n");
        goto done;
    }
    if (!ok(codomyrmex_key_manager_rotate(km, key_id, new_key, sizeof new_key, old_key, old_cap,
                                          &old_len),
            "rotating the key")) {
        goto done;
    }
    /* This program now holds two keys: the new one it made and the old one
     * it got back. Fingerprint the old one, then wipe both copies. */
    {
        uint8_t old_mac[CODOMYRMEX_MAX_DIGEST_LEN];
        size_t old_mac_len = 0;
        bool computed = ok(codomyrmex_hmac_compute(CODOMYRMEX_SHA256, old_key, old_len,
                                                   (const uint8_t *)FINGERPRINT_LABEL,
                                                   strlen(FINGERPRINT_LABEL), old_mac,
                                                   sizeof old_mac, &old_mac_len),
                           "fingerprinting the old key");

        codomyrmex_secure_zero(old_key, old_cap);
        codomyrmex_secure_zero(new_key, sizeof new_key);
        if (!computed) {
            goto done;
        }
        printf("3. rotated: got back the previous key (%zu bytes), fingerprint ", old_len);
        print_hex(old_mac, 4);
        printf("%s\n", memcmp(old_mac, before, 4) == 0 ? " (the one generated above)"
                                                     : " (UNEXPECTED: not the generated key)");
        if (memcmp(old_mac, before, 4) != 0) {
            goto done;
        }
    }
    if (!stored_fingerprint(km, key_id, after)) {
        goto done;
    }
    if (!ok(codomyrmex_key_manager_current_version(km, key_id, &version), "reading the version")) {
        goto done;
    }
    printf("   the stored key is now the new one (%zu bytes, version %u), fingerprint ",
           sizeof new_key, (unsigned)version);
    print_hex(after, sizeof after);
    printf("\n");

    /* 4. Authenticate a message with the stored key, then check it. Verify
     *    functions compare in constant time; their result must be used. */
    if (!ok(codomyrmex_key_manager_hmac(km, key_id, CODOMYRMEX_SHA256, (const uint8_t *)message,
                                        strlen(message), mac, sizeof mac, &mac_len),
            "computing an HMAC")) {
        goto done;
    }
    printf("4. HMAC-SHA-256 of \"%s\": %zu bytes, starts ", message, mac_len);
    print_hex(mac, 8);
    printf("...\n");
    if (!ok(codomyrmex_key_manager_hmac_verify(km, key_id, CODOMYRMEX_SHA256,
                                               (const uint8_t *)message, strlen(message), mac,
                                               mac_len),
            "verifying the HMAC")) {
        goto done;
    }
    printf("   verify(original message): OK\n");

    /* A changed message must fail with CODOMYRMEX_ERR_VERIFY_FAILED. */
    verdict = codomyrmex_key_manager_hmac_verify(km, key_id, CODOMYRMEX_SHA256,
                                                 (const uint8_t *)tampered, strlen(tampered), mac,
                                                 mac_len);
    printf("   verify(\"%s\"): %s\n", tampered, codomyrmex_status_name((uint32_t)verdict));
    if (verdict != CODOMYRMEX_ERR_VERIFY_FAILED) {
        fprintf(stderr, "demo: a tampered message was not rejected\n");
        goto done;
    }

    /* 5. Derive a subkey (HKDF-SHA-256) from the stored key. `info` names
     *    the purpose: different info, independent subkeys. The same inputs
     *    always give the same subkey, so it need not be stored. */
    if (!ok(codomyrmex_key_manager_derive(km, key_id, CODOMYRMEX_SHA256, NULL, 0,
                                          (const uint8_t *)info, strlen(info), subkey,
                                          sizeof subkey),
            "deriving a subkey") ||
        !ok(codomyrmex_key_manager_derive(km, key_id, CODOMYRMEX_SHA256, NULL, 0,
                                          (const uint8_t *)info, strlen(info), subkey_again,
                                          sizeof subkey_again),
            "deriving the subkey again")) {
        goto done;
    }
    printf("5. derived a %zu-byte subkey for \"%s\"; derived again: %s\n", sizeof subkey, info,
           memcmp(subkey, subkey_again, sizeof subkey) == 0 ? "identical" : "DIFFERENT");
    codomyrmex_secure_zero(subkey, sizeof subkey);
    codomyrmex_secure_zero(subkey_again, sizeof subkey_again);

    /* 6. Clean up: delete the key (with all its versions) and check that it
     *    is gone. */
    if (!ok(codomyrmex_key_manager_delete(km, key_id), "deleting the key")) {
        goto done;
    }
    key_created = false;
    if (!ok(codomyrmex_key_manager_exists(km, key_id, &exists), "checking the key is gone")) {
        goto done;
    }
    printf("6. deleted key '%s'; exists: %s\n", key_id, exists ? "yes" : "no");
    if (exists) {
        goto done;
    }
    codomyrmex_key_manager_free(km);
    km = NULL;
    remove_what_opening_made(&found, dir);
    exit_code = 0;

done:
    /* On an error midway, do not leave the demo's key behind, nor copies of
     * key material in memory. */
    if (key_created) {
        (void)codomyrmex_key_manager_delete(km, key_id);
    }
    codomyrmex_secure_zero(new_key, sizeof new_key);
    codomyrmex_secure_zero(subkey, sizeof subkey);
    codomyrmex_secure_zero(subkey_again, sizeof subkey_again);
    codomyrmex_secure_zero(old_key, old_cap); /* NULL is fine */
    free(old_key);
    free(dir);
    codomyrmex_key_manager_free(km); /* NULL is fine */
    return exit_code;
}
