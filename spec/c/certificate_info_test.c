/* b2c_certificate_info: the facts it reads, and OpenSSL's error queue left
 * empty after every call, whether it succeeds or fails.
 * usage: certificate_info_test CERT.pem (a certificate with DNS names) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../csrc/crypto.h"

static int failures = 0;

static void check(const char *what, int ok)
{
    unsigned long e = ERR_peek_error();
    ok = ok && e == 0;
    printf("%s: %s%s\n", ok ? "ok" : "FAILED", what, e ? " (error queue not empty)" : "");
    failures += !ok;
    ERR_clear_error();
}

int main(int argc, char **argv)
{
    static const char html[] = "<html><body>Not Found</body></html>";
    static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    static const unsigned char bad_der[] = {0x30, 0x82, 0x01, 0x00, 0x02};
    static char pem[16384];
    struct b2c_cert_info info;
    char msg[B2C_MSG_SIZE];
    unsigned char *der = NULL;
    size_t pem_len;
    int der_len, rc;
    FILE *f;
    BIO *bio;
    X509 *x;

    if (argc < 2 || (f = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "usage: certificate_info_test CERT.pem\n");
        return 2;
    }
    pem_len = fread(pem, 1, sizeof pem, f);
    fclose(f);

    rc = b2c_certificate_info((const unsigned char *)pem, pem_len, &info, msg);
    check("a PEM certificate is read", rc == 0 && info.common_name[0] != '\0' &&
                                           strlen(info.spki_sha256) == 64 && info.key_bits > 0);
    check("its DNS names are listed", rc == 0 && info.dns_count >= 1);

    bio = BIO_new_mem_buf(pem, (int)pem_len);
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    der_len = x != NULL ? i2d_X509(x, &der) : -1;
    X509_free(x);
    BIO_free(bio);
    if (der_len > 0) {
        struct b2c_cert_info again;
        rc = b2c_certificate_info(der, (size_t)der_len, &again, msg);
        check("the same certificate as DER gives the same SPKI digest",
              rc == 0 && strcmp(again.spki_sha256, info.spki_sha256) == 0);
        check("truncated DER is refused",
              b2c_certificate_info(der, (size_t)der_len / 2, &again, msg) < 0);
    } else {
        check("DER conversion in the test", 0);
    }
    OPENSSL_free(der);

    check("an HTML page is refused",
          b2c_certificate_info((const unsigned char *)html, strlen(html), &info, msg) < 0 &&
              strstr(msg, "not a PEM or DER") != NULL);
    check("a PEM block that is not a certificate is refused",
          b2c_certificate_info((const unsigned char *)bad_pem, strlen(bad_pem), &info, msg) < 0);
    check("a DER header without a body is refused",
          b2c_certificate_info(bad_der, sizeof bad_der, &info, msg) < 0);
    check("nothing at all is refused",
          b2c_certificate_info((const unsigned char *)"", 0, &info, msg) < 0);
    return failures;
}
