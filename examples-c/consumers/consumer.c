/*
 * A program outside the source tree that uses an installed codomyrmex_keys:
 * built once with pkg-config and once with CMake's find_package by
 * scripts/test-install.sh.
 */
#include <codomyrmex_keys.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    /* RFC 4231, test case 2. */
    static const char key[] = "Jefe";
    static const char data[] = "what do ya want for nothing?";
    static const uint8_t expected[32] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
        0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
        0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    uint8_t mac[CODOMYRMEX_MAX_DIGEST_LEN];
    size_t mac_len = 0;

    codomyrmex_status st = codomyrmex_hmac_compute(
        CODOMYRMEX_SHA256, (const uint8_t *)key, strlen(key),
        (const uint8_t *)data, strlen(data), mac, sizeof mac, &mac_len);
    if (st != CODOMYRMEX_OK || mac_len != sizeof expected ||
        memcmp(mac, expected, sizeof expected) != 0) {
        fprintf(stderr, "HMAC-SHA256 mismatch: %s\n", codomyrmex_status_name(st));
        return 1;
    }
    printf("codomyrmex_keys %s (header %d.%d.%d): RFC 4231 case 2 OK\n",
           codomyrmex_version(), CODOMYRMEX_VERSION_MAJOR, CODOMYRMEX_VERSION_MINOR,
           CODOMYRMEX_VERSION_PATCH);
    return 0;
}
