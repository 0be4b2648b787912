#include "crypto.h"
#include "random.h"
#include "secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bn.h>

#include <time.h>

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
                             char msg[B2C_MSG_SIZE], b2c_bad_input *bad)
{
    X509 *x = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *cipher = NULL;
    char *b64 = NULL;
    size_t cipher_len = 0;
    int key_bytes;
    b2c_bad_input unused;

    if (bad == NULL)
        bad = &unused;
    *bad = B2C_BAD_CERTIFICATE;

    x = load_certificate(cert, cert_len);
    if (x == NULL) {
        fail(msg, "not a PEM or DER X.509 certificate");
        goto done;
    }
    {
        EVP_PKEY *pub = X509_get0_pubkey(x); /* owned by x */
        if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA) {
            fail(msg, "its public key is not RSA");
            goto done;
        }
        key_bytes = EVP_PKEY_get_size(pub);
        if (password_len == 0 || key_bytes <= 11 || password_len > (size_t)(key_bytes - 11)) {
            *bad = B2C_BAD_PASSWORD;
            fail(msg, "must be 1 to (key size - 11) bytes long");
            goto done;
        }
        ctx = EVP_PKEY_CTX_new(pub, NULL);
    }
    if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_encrypt(ctx, NULL, &cipher_len, (const unsigned char *)password,
                         password_len) <= 0) {
        fail(msg, "RSA PKCS#1 v1.5 encryption is not available for this key");
        goto done;
    }
    cipher = (unsigned char *)malloc(cipher_len);
    if (cipher == NULL ||
        EVP_PKEY_encrypt(ctx, cipher, &cipher_len, (const unsigned char *)password,
                         password_len) <= 0) {
        fail(msg, "encryption with it failed");
        goto done;
    }
    b64 = (char *)malloc(4 * ((cipher_len + 2) / 3) + 1);
    if (b64 == NULL) {
        fail(msg, "out of memory while encrypting");
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
    static const char digits[] = "0123456789abcdef";
    unsigned char r[16];
    size_t i, o = 0;
    if (b2c_random_bytes(r, sizeof r) < 0)
        return -1;
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    /* By hand rather than snprintf: this runs once per payout. */
    for (i = 0; i < sizeof r; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = digits[r[i] >> 4];
        out[o++] = digits[r[i] & 0x0f];
    }
    out[o] = '\0';
    return 0;
}

/* Copies n bytes of text into out (size B2C_CERT_TEXT), truncated, with
 * control characters (and NUL) replaced by '?'. */
static void copy_text(char out[B2C_CERT_TEXT], const unsigned char *p, size_t n)
{
    size_t i;
    if (n > B2C_CERT_TEXT - 1)
        n = B2C_CERT_TEXT - 1;
    for (i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            out[i] = '?';
        else
            out[i] = (char)p[i];
    }
    out[n] = '\0';
}

static void name_line(const X509_NAME *name, char out[B2C_CERT_TEXT])
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long n;
    out[0] = '\0';
    if (bio == NULL)
        return;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        n = BIO_get_mem_data(bio, &data);
        if (n > 0 && data != NULL)
            copy_text(out, (const unsigned char *)data, (size_t)n);
    }
    BIO_free(bio);
}

static void common_name(const X509_NAME *name, char out[B2C_CERT_TEXT])
{
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    int n;
    out[0] = '\0';
    if (i < 0)
        return;
    n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n > 0)
        copy_text(out, utf8, (size_t)n);
    OPENSSL_free(utf8);
}

static void time_text(const ASN1_TIME *t, char out[32])
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
        strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, 32, "%s", "?");
}

void b2c_hex(const unsigned char *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static const char *key_type_name(int id)
{
    switch (id) {
    case EVP_PKEY_RSA:
        return "RSA";
    case EVP_PKEY_RSA_PSS:
        return "RSA-PSS";
    case EVP_PKEY_EC:
        return "EC";
    case EVP_PKEY_DSA:
        return "DSA";
    case EVP_PKEY_ED25519:
        return "ED25519";
    case EVP_PKEY_ED448:
        return "ED448";
    default:
        return "other";
    }
}

int b2c_certificate_info(const unsigned char *cert, size_t cert_len,
                         struct b2c_cert_info *info, char msg[B2C_MSG_SIZE])
{
    X509 *x = NULL;
    unsigned char *der = NULL;
    BIGNUM *bn = NULL;
    char *serial = NULL;
    GENERAL_NAMES *names = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int der_len, i, rc = -1;

    memset(info, 0, sizeof *info);
    x = load_certificate(cert, cert_len);
    if (x == NULL) {
        fail(msg, "not a PEM or DER X.509 certificate");
        goto done;
    }
    name_line(X509_get_subject_name(x), info->subject);
    common_name(X509_get_subject_name(x), info->common_name);
    name_line(X509_get_issuer_name(x), info->issuer);
    common_name(X509_get_issuer_name(x), info->issuer_cn);
    time_text(X509_get0_notBefore(x), info->not_before);
    time_text(X509_get0_notAfter(x), info->not_after);
    info->expired = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    if (bn != NULL && (serial = BN_bn2hex(bn)) != NULL)
        copy_text(info->serial, (const unsigned char *)serial, strlen(serial));

    /* SPKI sha256: the digest of the DER SubjectPublicKeyInfo. */
    der_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    if (der_len <= 0 || EVP_Digest(der, (size_t)der_len, md, &md_len, EVP_sha256(), NULL) != 1 ||
        md_len != 32) {
        fail(msg, "certificate: cannot read its public key");
        goto done;
    }
    b2c_hex(md, md_len, info->spki_sha256);
    {
        EVP_PKEY *pub = X509_get0_pubkey(x); /* owned by x */
        if (pub != NULL) {
            snprintf(info->key_type, sizeof info->key_type, "%s",
                     key_type_name(EVP_PKEY_get_base_id(pub)));
            info->key_bits = EVP_PKEY_get_bits(pub);
        } else {
            snprintf(info->key_type, sizeof info->key_type, "%s", "unknown");
        }
    }
    /* basicConstraints CA:TRUE only: OpenSSL's own flags also count some
     * self-signed certificates without extensions as CAs. */
    {
        BASIC_CONSTRAINTS *bc =
            (BASIC_CONSTRAINTS *)X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
        info->is_ca = bc != NULL && bc->ca;
        BASIC_CONSTRAINTS_free(bc);
    }

    names = (GENERAL_NAMES *)X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        if (g->type == GEN_DNS && info->dns_count < B2C_CERT_MAX_DNS) {
            copy_text(info->dns[info->dns_count], ASN1_STRING_get0_data(g->d.dNSName),
                      (size_t)ASN1_STRING_length(g->d.dNSName));
            info->dns_count++;
        } else if (g->type == GEN_IPADD) {
            info->ip_count++;
        }
    }
    rc = 0;
done:
    GENERAL_NAMES_free(names);
    OPENSSL_free(serial);
    BN_free(bn);
    OPENSSL_free(der);
    X509_free(x);
    ERR_clear_error();
    return rc;
}

int b2c_app_identity(const char *base_url, const char *key, const char *secret,
                     unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, base_url, strlen(base_url) + 1) == 1 &&
             EVP_DigestUpdate(md, key, strlen(key) + 1) == 1 &&
             EVP_DigestUpdate(md, secret, strlen(secret)) == 1 &&
             EVP_DigestFinal_ex(md, out, NULL) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return ok ? 0 : -1;
}
