/*
 * Keys shared by many hosts, through the C interface, without a cluster:
 * the open options of an etcd source (codomyrmex_open_options_set_timeout_ms,
 * _set_tls, _set_auth) and their refusals, etcd locations, and an
 * unreachable cluster: opening sends nothing, and the first call fails with
 * CODOMYRMEX_ERR_IO within the timeout, naming every endpoint.
 *
 * The library these tests link may be built without the cargo feature
 * `etcd` (the default); then an etcd location is refused with
 * CODOMYRMEX_ERR_INVALID_ARGUMENT, and that is what is checked instead.
 * The Rust tests (tests/etcd_store.rs, tests/etcd_faults.rs) run the store
 * on real clusters.
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
    if (status == CODOMYRMEX_ERR_INVALID_ARGUMENT && message_has("without etcd support")) {
        printf("    this library is built without the etcd feature: etcd locations are refused\n");
        CHECK(km == NULL);
        return;
    }
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

int main(void)
{
    test_setters();
    test_unreachable_cluster();
    return check_summary("test_fleet");
}
