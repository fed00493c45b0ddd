// e^x on clang vectors of any width (VF: floats, VI: int32 of the same width), shared by the
// baseline, AVX2 and AVX-512 kernels.
#ifndef VECTOR_EXP_H
#define VECTOR_EXP_H

// x = n ln2 + r, n the nearest integer (1.5*2^23 rounding trick), e^r by Cephes' polynomial,
// 2^n in the exponent bits. Within 2 ulp; x below -87.3 gives 0 (so -inf gives 0).
#define VECTOR_EXP(VF, VI, x)                                                                     \
    ({                                                                                            \
        VF xc = __builtin_elementwise_min(__builtin_elementwise_max((x), (VF)-87.33654f), (VF)88.0f); \
        VF t = xc * 1.44269504088896341f + 12582912.0f;                                           \
        VF n = t - 12582912.0f;                                                                   \
        VF r = xc - n * 0.693359375f;                                                             \
        r = r + n * 2.12194440e-4f;                                                               \
        VF y = 1.9875691500e-4f;                                                                  \
        y = y * r + 1.3981999507e-3f;                                                             \
        y = y * r + 8.3334519073e-3f;                                                             \
        y = y * r + 4.1665795894e-2f;                                                             \
        y = y * r + 1.6666665459e-1f;                                                             \
        y = y * r + 5.0000001201e-1f;                                                             \
        y = y * (r * r) + r + 1.0f;                                                               \
        VI bits = (__builtin_bit_cast(VI, t) - 0x4B400000 + 127) << 23;                           \
        VF e = y * __builtin_bit_cast(VF, bits);                                                  \
        (x) < -87.33654f ? (VF)0.0f : e;                                                          \
    })

#endif
