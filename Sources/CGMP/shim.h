#include <gmp.h>
#include <string.h>

/* GMP's mpz_* names are macros for __gmpz_* functions, which Swift does not import through the
   macros; these inline wrappers give Swift callable names. */
static inline void sdt_mpz_init(mpz_ptr x) { mpz_init(x); }
static inline void sdt_mpz_wipe_clear(mpz_ptr x) {
    /* Overwrite the limbs before freeing them: values may be secret shares. */
    if (x->_mp_d != NULL && x->_mp_alloc > 0) { memset(x->_mp_d, 0, (size_t)x->_mp_alloc * sizeof(mp_limb_t)); }
    mpz_clear(x);
}
static inline void sdt_mpz_set(mpz_ptr r, mpz_srcptr a) { mpz_set(r, a); }
static inline void sdt_mpz_set_ui(mpz_ptr r, unsigned long a) { mpz_set_ui(r, a); }
static inline void sdt_mpz_add(mpz_ptr r, mpz_srcptr a, mpz_srcptr b) { mpz_add(r, a, b); }
static inline void sdt_mpz_sub(mpz_ptr r, mpz_srcptr a, mpz_srcptr b) { mpz_sub(r, a, b); }
static inline void sdt_mpz_mul(mpz_ptr r, mpz_srcptr a, mpz_srcptr b) { mpz_mul(r, a, b); }
static inline void sdt_mpz_mod(mpz_ptr r, mpz_srcptr a, mpz_srcptr m) { mpz_mod(r, a, m); }
static inline int sdt_mpz_invert(mpz_ptr r, mpz_srcptr a, mpz_srcptr m) { return mpz_invert(r, a, m); }
static inline void sdt_mpz_powm(mpz_ptr r, mpz_srcptr b, mpz_srcptr e, mpz_srcptr m) { mpz_powm(r, b, e, m); }
static inline int sdt_mpz_cmp(mpz_srcptr a, mpz_srcptr b) { return mpz_cmp(a, b); }
static inline int sdt_mpz_sgn(mpz_srcptr a) { return mpz_sgn(a); }
static inline int sdt_mpz_probab_prime(mpz_srcptr a, int reps) { return mpz_probab_prime_p(a, reps); }
static inline size_t sdt_mpz_size_in_bytes(mpz_srcptr a) { return (mpz_sizeinbase(a, 2) + 7) / 8; }
/* Little-endian bytes, as Ed25519 scalars are serialized. */
static inline void sdt_mpz_import_le(mpz_ptr r, const unsigned char *bytes, size_t count) {
    mpz_import(r, count, -1, 1, 0, 0, bytes);
}
static inline size_t sdt_mpz_export_le(unsigned char *bytes, mpz_srcptr a) {
    size_t count = 0;
    mpz_export(bytes, &count, -1, 1, 0, 0, a);
    return count;
}
