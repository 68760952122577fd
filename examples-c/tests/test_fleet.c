/*
 * Keys shared by many hosts, through the C interface: the open options of
 * an etcd source (codomyrmex_open_options_set_timeout_ms, _set_tls,
 * _set_auth) and their refusals, etcd locations, an unreachable cluster
 * (opening sends nothing; the first call fails with CODOMYRMEX_ERR_IO
 * within the timeout, naming every endpoint), and a real three-member
 * cluster: two key managers as two hosts sharing keys, staged rotation, and
 * a keyring that follows the other host's rotation through the watch.
 *
 * ctest starts the cluster (scripts/etcd-cluster.sh, fixture "etcd") and
 * names its env file in CODOMYRMEX_ETCD_ENV. Run by hand without it (as
 * the valgrind run does), the cluster part is left out and says so.
 */
#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "codomyrmex_keys.h"
#include "test_util.h"

static bool message_has(const char *needle)
{
    char message[1024];

    codomyrmex_last_error_message(message, sizeof message);
    if (strstr(message, needle) != NULL) {
        return true;
    }
    fprintf(stderr, "    the last error message lacks \"%s\": %s\n", needle, message);
    return false;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A loopback port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    if (fd < 0) {
        abort();
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        abort();
    }
    port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static void test_setters(void)
{
    codomyrmex_open_options *opts = NULL;

    check_section("etcd open options: NULL handling and refusals");
    CHECK_STATUS(codomyrmex_open_options_set_timeout_ms(NULL, 100), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_open_options_set_tls(NULL, NULL, NULL, NULL),
                 CODOMYRMEX_ERR_NULL_POINTER);
    CHECK_STATUS(codomyrmex_open_options_set_auth(NULL, "u", "/p"), CODOMYRMEX_ERR_NULL_POINTER);
    if (!CHECK_OK(codomyrmex_open_options_new(&opts))) {
        return;
    }
    CHECK_STATUS(codomyrmex_open_options_set_timeout_ms(opts, 0), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK(message_has("ms"));
    CHECK_OK(codomyrmex_open_options_set_timeout_ms(opts, 1));
    CHECK_OK(codomyrmex_open_options_set_timeout_ms(opts, UINT32_MAX));

    /* Every TLS file may be NULL: the system's CA bundle, no client certificate. */
    CHECK_OK(codomyrmex_open_options_set_tls(opts, NULL, NULL, NULL));
    CHECK_OK(codomyrmex_open_options_set_tls(opts, "/etc/ca.pem", NULL, NULL));
    CHECK_OK(codomyrmex_open_options_set_tls(opts, NULL, "/c.pem", "/c.key"));
    CHECK_STATUS(codomyrmex_open_options_set_tls(opts, "/ca.pem", "/c.pem", NULL),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK(message_has("cert_file"));
    CHECK_STATUS(codomyrmex_open_options_set_tls(opts, NULL, NULL, "/c.key"),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);

    CHECK_STATUS(codomyrmex_open_options_set_auth(opts, NULL, "/p"), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK(message_has("user"));
    CHECK_STATUS(codomyrmex_open_options_set_auth(opts, "u", NULL), CODOMYRMEX_ERR_NULL_POINTER);
    CHECK(message_has("password_file"));
    CHECK_STATUS(codomyrmex_open_options_set_auth(opts, "", "/p"), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(codomyrmex_open_options_set_auth(opts, "\xff", "/p"),
                 CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_OK(codomyrmex_open_options_set_auth(opts, "app", "/run/secrets/etcd-password"));
    codomyrmex_open_options_free(opts);
}

/* Opens `location` with a 500 ms timeout; *out_km is NULL unless it opened. */
static codomyrmex_status open_etcd(const char *location, codomyrmex_key_manager **out_km)
{
    codomyrmex_open_options *opts = NULL;
    codomyrmex_status status;

    *out_km = NULL;
    if (codomyrmex_open_options_new(&opts) != CODOMYRMEX_OK ||
        codomyrmex_open_options_set_timeout_ms(opts, 500) != CODOMYRMEX_OK) {
        abort();
    }
    status = codomyrmex_key_manager_open_with(location, opts, out_km);
    codomyrmex_open_options_free(opts);
    return status;
}

static void test_unreachable_cluster(void)
{
    char location[256], shown[256];
    int ports[3] = {closed_port(), closed_port(), closed_port()};
    codomyrmex_key_manager *km = NULL;
    codomyrmex_status status;
    bool exists = false;
    size_t len = 0;
    double started;

    check_section("etcd locations and an unreachable cluster");
    snprintf(location, sizeof location, "etcd://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/fleet",
             ports[0], ports[1], ports[2]);
    status = open_etcd(location, &km);
    if (!CHECK_OK(status) || !CHECK(km != NULL)) {
        return;
    }
    CHECK_OK(codomyrmex_key_manager_dir(km, shown, sizeof shown, &len));
    CHECK_STR(shown, location);

    started = now_seconds();
    CHECK_STATUS(codomyrmex_key_manager_exists(km, "api", &exists), CODOMYRMEX_ERR_IO);
    CHECK(now_seconds() - started < 1.5);
    CHECK(!exists);
    {
        char port[16];
        snprintf(port, sizeof port, "%d", ports[2]);
        CHECK(message_has(port));
    }
    started = now_seconds();
    CHECK_STATUS(codomyrmex_key_manager_generate(km, "api", 32), CODOMYRMEX_ERR_IO);
    CHECK(now_seconds() - started < 1.5);
    codomyrmex_key_manager_free(km);

    CHECK_STATUS(open_etcd("etcd://", &km), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(open_etcd("etcd://127.0.0.1:0/x", &km), CODOMYRMEX_ERR_INVALID_ARGUMENT);
    CHECK(km == NULL);
}

/* ETCD_ENDPOINTS from the cluster's env file; false without one. */
static bool cluster_endpoints(char *out, size_t cap)
{
    const char *env_file = getenv("CODOMYRMEX_ETCD_ENV");
    char line[512];
    bool found = false;
    FILE *file;

    if (env_file == NULL || env_file[0] == '\0') {
        return false;
    }
    file = fopen(env_file, "r");
    if (!CHECK(file != NULL)) {
        return false;
    }
    while (!found && fgets(line, sizeof line, file) != NULL) {
        if (strncmp(line, "ETCD_ENDPOINTS=", 15) == 0) {
            size_t len;

            line[strcspn(line, "\n")] = '\0';
            len = strlen(line + 15);
            if (len < cap) {
                memcpy(out, line + 15, len + 1);
                found = true;
            }
        }
    }
    fclose(file);
    return CHECK(found);
}

/* The tagged MAC of `msg` with the current version of `id` through `km`. */
static size_t tag_of(codomyrmex_key_manager *km, const char *id, const char *msg,
                     uint8_t tag[CODOMYRMEX_TAG_OVERHEAD + CODOMYRMEX_MAX_DIGEST_LEN])
{
    size_t len = 0;

    CHECK_OK(codomyrmex_key_manager_hmac_tagged(km, id, CODOMYRMEX_SHA256, (const uint8_t *)msg,
                                                strlen(msg), tag,
                                                CODOMYRMEX_TAG_OVERHEAD + CODOMYRMEX_MAX_DIGEST_LEN,
                                                &len));
    return len;
}

static void test_real_cluster(void)
{
    char endpoints[256], location[384];
    codomyrmex_key_manager *here = NULL, *there = NULL;
    codomyrmex_keyring *ring = NULL;
    uint8_t tag1[CODOMYRMEX_TAG_OVERHEAD + CODOMYRMEX_MAX_DIGEST_LEN];
    uint8_t tag2[sizeof tag1], ring_tag[sizeof tag1];
    uint8_t key[CODOMYRMEX_MAX_KEY_LEN], other[CODOMYRMEX_MAX_KEY_LEN];
    uint32_t versions[8], version = 0, staged = 0;
    size_t tag1_len, tag2_len, ring_tag_len = 0, key_len = 0, other_len = 0, count = 0;
    const uint8_t fresh[32] = {7};
    bool exists = false;
    double started;

    check_section("a real etcd cluster: two hosts, staged rotation, a followed keyring");
    if (!cluster_endpoints(endpoints, sizeof endpoints)) {
        printf("    no cluster (CODOMYRMEX_ETCD_ENV unset): this part is left out\n");
        return;
    }
    snprintf(location, sizeof location, "etcd://%s/c-fleet/%ld/%s", endpoints, (long)getpid(),
             CODOMYRMEX_LINKED_SHARED ? "shared" : "static");
    if (!CHECK_OK(open_etcd(location, &here)) || !CHECK_OK(open_etcd(location, &there))) {
        codomyrmex_key_manager_free(here);
        return;
    }

    /* What one host writes, the other reads. */
    CHECK_OK(codomyrmex_key_manager_generate(here, "api", 32));
    CHECK_OK(codomyrmex_key_manager_exists(there, "api", &exists));
    CHECK(exists);
    CHECK_OK(codomyrmex_key_manager_get(here, "api", key, sizeof key, &key_len));
    CHECK_OK(codomyrmex_key_manager_get(there, "api", other, sizeof other, &other_len));
    CHECK_SIZE(other_len, 32);
    CHECK_BYTES(other, key, 32);
    CHECK_STATUS(codomyrmex_key_manager_create(there, "api", fresh, sizeof fresh),
                 CODOMYRMEX_ERR_ALREADY_EXISTS);
    tag1_len = tag_of(here, "api", "invoice 42", tag1);

    /* A keyring on this host, following the cluster's changes. */
    CHECK_OK(codomyrmex_key_manager_load(here, "api", CODOMYRMEX_SHA256, 20, &ring));

    /* The other host rotates: both hosts verify the old tag and the new. */
    CHECK_OK(codomyrmex_key_manager_rotate(there, "api", fresh, sizeof fresh, other, sizeof other,
                                           &other_len));
    CHECK_SIZE(other_len, 32);
    CHECK_BYTES(other, key, 32);
    tag2_len = tag_of(here, "api", "invoice 42", tag2);
    CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(there, "api", CODOMYRMEX_SHA256,
                                                       (const uint8_t *)"invoice 42", 10, tag1,
                                                       tag1_len));
    CHECK_OK(codomyrmex_key_manager_hmac_verify_tagged(there, "api", CODOMYRMEX_SHA256,
                                                       (const uint8_t *)"invoice 42", 10, tag2,
                                                       tag2_len));
    CHECK_OK(codomyrmex_key_manager_current_version(here, "api", &version));
    CHECK_INT(version, 2);

    /* The keyring follows without being asked: the watch wakes it. */
    started = now_seconds();
    do {
        CHECK_OK(codomyrmex_keyring_current_version(ring, &version));
    } while (version != 2 && now_seconds() - started < 5.0);
    CHECK_INT(version, 2);
    CHECK_OK(codomyrmex_keyring_hmac_tagged(ring, (const uint8_t *)"invoice 42", 10, ring_tag,
                                            sizeof ring_tag, &ring_tag_len));
    CHECK_SIZE(ring_tag_len, tag2_len);
    CHECK_BYTES(ring_tag, tag2, tag2_len);
    CHECK_OK(codomyrmex_keyring_hmac_verify_tagged(ring, (const uint8_t *)"invoice 42", 10, tag1,
                                                   tag1_len));

    /* Staged rotation: known everywhere before anyone signs with it. */
    CHECK_OK(codomyrmex_key_manager_stage_generate(there, "api", 32, &staged));
    CHECK_INT(staged, 3);
    CHECK_OK(codomyrmex_key_manager_list_versions(here, "api", versions, 8, &count));
    CHECK_SIZE(count, 3);
    CHECK_OK(codomyrmex_key_manager_current_version(here, "api", &version));
    CHECK_INT(version, 2);
    CHECK_STATUS(codomyrmex_key_manager_promote(here, "api", 7), CODOMYRMEX_ERR_NOT_FOUND);
    CHECK_OK(codomyrmex_key_manager_promote(here, "api", staged));
    CHECK_OK(codomyrmex_key_manager_current_version(there, "api", &version));
    CHECK_INT(version, 3);

    /* Pruning to the current version: the first tag stops verifying. */
    CHECK_OK(codomyrmex_key_manager_prune(there, "api", 1));
    CHECK_STATUS(codomyrmex_key_manager_hmac_verify_tagged(here, "api", CODOMYRMEX_SHA256,
                                                           (const uint8_t *)"invoice 42", 10,
                                                           tag1, tag1_len),
                 CODOMYRMEX_ERR_VERIFY_FAILED);
    started = now_seconds();
    while (codomyrmex_keyring_hmac_verify_tagged(ring, (const uint8_t *)"invoice 42", 10, tag1,
                                                 tag1_len) == CODOMYRMEX_OK &&
           now_seconds() - started < 5.0) {
    }
    CHECK_STATUS(codomyrmex_keyring_hmac_verify_tagged(ring, (const uint8_t *)"invoice 42", 10,
                                                       tag1, tag1_len),
                 CODOMYRMEX_ERR_VERIFY_FAILED);

    CHECK_OK(codomyrmex_key_manager_delete(here, "api"));
    CHECK_STATUS(codomyrmex_key_manager_get(there, "api", key, sizeof key, &key_len),
                 CODOMYRMEX_ERR_NOT_FOUND);
    codomyrmex_secure_zero(key, sizeof key);
    codomyrmex_secure_zero(other, sizeof other);
    codomyrmex_keyring_free(ring);
    codomyrmex_key_manager_free(there);
    codomyrmex_key_manager_free(here);
}

int main(void)
{
    test_setters();
    test_unreachable_cluster();
    test_real_cluster();
    return check_summary("test_fleet");
}
