#include "crypto.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static void fail(char msg[B2C_MSG_SIZE], const char *text)
{
    snprintf(msg, B2C_MSG_SIZE, "%s", text);
    ERR_clear_error();
}

static int looks_like_pem(const unsigned char *p, size_t n)
{
    static const char marker[] = "-----BEGIN CERTIFICATE-----";
    size_t m = sizeof(marker) - 1, i;
    for (i = 0; i + m <= n; i++)
        if (memcmp(p + i, marker, m) == 0)
            return 1;
    return 0;
}

/* PEM first, then DER. Anything else (an HTML page saved as .cer, a key,
 * garbage) is refused. Validity dates are deliberately not checked:
 * Safaricom's encryption certificates are expired and still in use. */
static X509 *load_certificate(const unsigned char *p, size_t n)
{
    X509 *x = NULL;
    if (n == 0 || n > 1024 * 1024)
        return NULL;
    if (looks_like_pem(p, n)) {
        BIO *bio = BIO_new_mem_buf(p, (int)n);
        if (bio != NULL) {
            x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
            BIO_free(bio);
        }
    } else {
        const unsigned char *cursor = p;
        x = d2i_X509(NULL, &cursor, (long)n);
    }
    return x;
}

char *b2c_credential_encrypt(const char *password, size_t password_len,
                             const unsigned char *cert, size_t cert_len,
                             char msg[B2C_MSG_SIZE])
{
    X509 *x = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *cipher = NULL;
    char *b64 = NULL;
    size_t cipher_len = 0;
    int key_bytes;

    x = load_certificate(cert, cert_len);
    if (x == NULL) {
        fail(msg, "certificate: not a PEM or DER X.509 certificate");
        goto done;
    }
    {
        EVP_PKEY *pub = X509_get0_pubkey(x); /* owned by x */
        if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA) {
            fail(msg, "certificate: its public key is not RSA");
            goto done;
        }
        key_bytes = EVP_PKEY_get_size(pub);
        if (password_len == 0 || key_bytes <= 11 || password_len > (size_t)(key_bytes - 11)) {
            fail(msg, "initiatorPassword: must be 1 to (key size - 11) bytes long");
            goto done;
        }
        ctx = EVP_PKEY_CTX_new(pub, NULL);
    }
    if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_encrypt(ctx, NULL, &cipher_len, (const unsigned char *)password,
                         password_len) <= 0) {
        fail(msg, "certificate: RSA PKCS#1 v1.5 encryption is not available for this key");
        goto done;
    }
    cipher = (unsigned char *)malloc(cipher_len);
    if (cipher == NULL ||
        EVP_PKEY_encrypt(ctx, cipher, &cipher_len, (const unsigned char *)password,
                         password_len) <= 0) {
        fail(msg, "security credential: encryption failed");
        goto done;
    }
    b64 = (char *)malloc(4 * ((cipher_len + 2) / 3) + 1);
    if (b64 == NULL) {
        fail(msg, "security credential: out of memory");
        goto done;
    }
    EVP_EncodeBlock((unsigned char *)b64, cipher, (int)cipher_len);
done:
    if (cipher != NULL) {
        OPENSSL_cleanse(cipher, cipher_len);
        free(cipher);
    }
    EVP_PKEY_CTX_free(ctx);
    X509_free(x);
    ERR_clear_error();
    return b64;
}

/* Strict base64 (no whitespace): returns decoded length or -1. */
static int base64_decode(const char *in, size_t n, unsigned char *out)
{
    int len, pad = 0;
    if (n == 0 || n % 4 != 0 || n > 8192)
        return -1;
    len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (len < 0)
        return -1;
    /* EVP_DecodeBlock counts padding as zero bytes. */
    if (in[n - 1] == '=')
        pad++;
    if (in[n - 2] == '=')
        pad++;
    return len - pad;
}

char *b2c_credential_decrypt(const char *b64, size_t b64_len,
                             const char *key_pem, size_t key_len,
                             size_t *out_len, char msg[B2C_MSG_SIZE])
{
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *cipher = NULL, *plain = NULL;
    char *result = NULL;
    size_t plain_len = 0;
    int cipher_len;

    cipher = (unsigned char *)malloc(b64_len / 4 * 3 + 3);
    if (cipher == NULL) {
        fail(msg, "out of memory");
        goto done;
    }
    cipher_len = base64_decode(b64, b64_len, cipher);
    if (cipher_len <= 0) {
        fail(msg, "credential: not base64");
        goto done;
    }
    if (key_len > 64 * 1024 || (bio = BIO_new_mem_buf(key_pem, (int)key_len)) == NULL ||
        (key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
        fail(msg, "key: not a PEM private key");
        goto done;
    }
    ctx = EVP_PKEY_CTX_new(key, NULL);
    if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_decrypt(ctx, NULL, &plain_len, cipher, (size_t)cipher_len) <= 0) {
        fail(msg, "credential: cannot be decrypted with this key");
        goto done;
    }
    plain = (unsigned char *)malloc(plain_len + 1);
    if (plain == NULL ||
        EVP_PKEY_decrypt(ctx, plain, &plain_len, cipher, (size_t)cipher_len) <= 0) {
        fail(msg, "credential: cannot be decrypted with this key");
        goto done;
    }
    result = b2c_secret_dup((const char *)plain, plain_len);
    *out_len = plain_len;
    if (result == NULL)
        fail(msg, "out of memory");
done:
    if (plain != NULL) {
        OPENSSL_cleanse(plain, plain_len);
        free(plain);
    }
    free(cipher);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(key);
    BIO_free(bio);
    ERR_clear_error();
    return result;
}

int b2c_uuid4(char out[37])
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1) {
        ERR_clear_error();
        return -1;
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
             r[12], r[13], r[14], r[15]);
    return 0;
}
