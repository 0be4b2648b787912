/* Security credential (RSA PKCS#1 v1.5 + base64) and random identifiers.
 * Pure C: no Lua. Every function leaves the OpenSSL error queue empty. */
#ifndef B2C_CRYPTO_H
#define B2C_CRYPTO_H

#include <stddef.h>

#define B2C_MSG_SIZE 256

/* Which input a failed encryption is about, for the caller to name. */
typedef enum { B2C_BAD_CERTIFICATE, B2C_BAD_PASSWORD } b2c_bad_input;

/* Encrypts password with the RSA public key of cert (PEM or DER X.509).
 * On success returns a malloc'd NUL-terminated base64 string (a secret:
 * free with b2c_secret_free); on failure NULL, the rule broken in msg and,
 * when bad is not NULL, which input broke it in *bad. */
char *b2c_credential_encrypt(const char *password, size_t password_len,
                             const unsigned char *cert, size_t cert_len,
                             char msg[B2C_MSG_SIZE], b2c_bad_input *bad);

/* The inverse, for simulators and tests: decrypts a base64 credential with
 * a PEM private key. Returns a malloc'd plaintext (free with
 * b2c_secret_free) and its length, or NULL and a message. */
char *b2c_credential_decrypt(const char *b64, size_t b64_len,
                             const char *key_pem, size_t key_len,
                             size_t *out_len, char msg[B2C_MSG_SIZE]);

/* Writes a random RFC 4122 version 4 UUID (36 chars + NUL) from OpenSSL's
 * RNG. Returns 0, or -1 when the RNG fails. */
int b2c_uuid4(char out[37]);

/* An app's identity: SHA-256 of base URL, consumer key and secret. The
 * process token cache is keyed by it, and a token shared between
 * processes is named by its hex: apps stay apart, no secret can be read
 * from it. 0, or -1 when OpenSSL failed (its error queue cleared). */
int b2c_app_identity(const char *base_url, const char *key, const char *secret,
                     unsigned char out[32]);

/* n bytes as 2n lower-case hex digits and a NUL. */
void b2c_hex(const unsigned char *p, size_t n, char *out);

/* What an operator needs to recognise a certificate: names, dates, key and
 * the SHA-256 of its DER SubjectPublicKeyInfo (what identifies the key,
 * whatever certificate wraps it). Text fields are NUL-terminated, truncated
 * to fit, with control characters replaced by '?'. */
#define B2C_CERT_TEXT 256
#define B2C_CERT_MAX_DNS 8

struct b2c_cert_info {
    char subject[B2C_CERT_TEXT];     /* RFC 2253 one-line form */
    char common_name[B2C_CERT_TEXT]; /* subject CN, "" when none */
    char issuer[B2C_CERT_TEXT];
    char issuer_cn[B2C_CERT_TEXT];
    char serial[B2C_CERT_TEXT];      /* upper-case hex */
    char not_before[32];             /* "YYYY-MM-DD HH:MM:SS UTC" */
    char not_after[32];
    int expired;                     /* notAfter is in the past */
    char spki_sha256[65];            /* lower-case hex */
    char key_type[16];               /* "RSA", "EC", "ED25519", ... */
    int key_bits;
    int is_ca;                       /* basicConstraints CA:TRUE */
    int dns_count;                   /* subjectAltName DNS names kept (at most B2C_CERT_MAX_DNS) */
    char dns[B2C_CERT_MAX_DNS][B2C_CERT_TEXT];
    int ip_count;                    /* subjectAltName IP addresses */
};

/* Fills info from a PEM or DER X.509 certificate. Returns 0, or -1 and a
 * message in msg. Leaves the OpenSSL error queue empty on every path. */
int b2c_certificate_info(const unsigned char *cert, size_t cert_len,
                         struct b2c_cert_info *info, char msg[B2C_MSG_SIZE]);

#endif
