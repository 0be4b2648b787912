/* Every failure path of the credential code leaves OpenSSL's per-thread
 * error queue empty: in nginx the same queue serves the server's own TLS,
 * and a stale entry there breaks a later, unrelated handshake. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "../../csrc/crypto.h"
#include "../../csrc/secret.h"

static int failures = 0;

static void check(const char *what, int returned_null)
{
    unsigned long e = ERR_peek_error();
    int ok = returned_null && e == 0;
    printf("%s: %s%s\n", ok ? "ok" : "FAILED", what, e ? " (error queue not empty)" : "");
    failures += !ok;
    ERR_clear_error();
}

int main(int argc, char **argv)
{
    char msg[B2C_MSG_SIZE];
    size_t n;
    static const char html[] = "<html><body>Not Found</body></html>";
    static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    static const unsigned char bad_der[] = {0x30, 0x82, 0x01, 0x00, 0x02};
    char long_password[400];
    const char *cert = argc > 1 ? argv[1] : NULL;
    FILE *f;
    static char pem[8192];
    size_t pem_len = 0;

    if (cert == NULL || (f = fopen(cert, "rb")) == NULL) {
        fprintf(stderr, "usage: crypto_errors_test CERT.pem\n");
        return 2;
    }
    pem_len = fread(pem, 1, sizeof pem, f);
    fclose(f);
    memset(long_password, 'p', sizeof long_password - 1);
    long_password[sizeof long_password - 1] = '\0';

    check("an HTML page as certificate",
          b2c_credential_encrypt("pw", 2, (const unsigned char *)html, strlen(html), msg, NULL) == NULL);
    check("a PEM block that is not a certificate",
          b2c_credential_encrypt("pw", 2, (const unsigned char *)bad_pem, strlen(bad_pem), msg, NULL) ==
              NULL);
    check("truncated DER", b2c_credential_encrypt("pw", 2, bad_der, sizeof bad_der, msg, NULL) == NULL);
    check("a password too long for the key",
          b2c_credential_encrypt(long_password, strlen(long_password),
                                 (const unsigned char *)pem, pem_len, msg, NULL) == NULL);
    check("decrypting text that is not base64",
          b2c_credential_decrypt("%%%%", 4, pem, pem_len, &n, msg) == NULL);
    check("decrypting with something that is not a private key",
          b2c_credential_decrypt("AAAA", 4, pem, pem_len, &n, msg) == NULL);
    return failures;
}
