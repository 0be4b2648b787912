/* Security credential (RSA PKCS#1 v1.5 + base64) and random identifiers.
 * Pure C: no Lua. Every function leaves the OpenSSL error queue empty. */
#ifndef B2C_CRYPTO_H
#define B2C_CRYPTO_H

#include <stddef.h>

#define B2C_MSG_SIZE 256

/* Encrypts password with the RSA public key of cert (PEM or DER X.509).
 * On success returns a malloc'd NUL-terminated base64 string (a secret:
 * free with b2c_secret_free); on failure NULL and a message in msg. */
char *b2c_credential_encrypt(const char *password, size_t password_len,
                             const unsigned char *cert, size_t cert_len,
                             char msg[B2C_MSG_SIZE]);

/* The inverse, for simulators and tests: decrypts a base64 credential with
 * a PEM private key. Returns a malloc'd plaintext (free with
 * b2c_secret_free) and its length, or NULL and a message. */
char *b2c_credential_decrypt(const char *b64, size_t b64_len,
                             const char *key_pem, size_t key_len,
                             size_t *out_len, char msg[B2C_MSG_SIZE]);

/* Writes a random RFC 4122 version 4 UUID (36 chars + NUL) from OpenSSL's
 * RNG. Returns 0, or -1 when the RNG fails. */
int b2c_uuid4(char out[37]);

#endif
