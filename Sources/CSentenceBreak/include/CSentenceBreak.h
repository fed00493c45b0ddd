// A C interface over ICU's break iterators (Debian libicu-dev), so that Swift can ask ICU where
// sentences end and where a line may be broken without importing ICU's headers, whose symbols
// Debian renames by version (ubrk_open is really ubrk_open_72). Every function reports failure
// through its return value; nothing here aborts.
#ifndef C_SENTENCE_BREAK_H
#define C_SENTENCE_BREAK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Writes to `breaks` the UTF-16 offsets where ICU ends a sentence in `text` (`length` UTF-16
/// code units), in increasing order, excluding offset 0 and including `length` for non-empty text.
/// `locale` is an ICU locale id ("en", "de", "en@ss=standard"; "" for the root rules).
/// Returns the number of offsets written, or the negated ICU error code (UErrorCode) on failure;
/// a `capacity` of `length` always suffices.
int32_t nmt_sentence_breaks(const uint16_t *text, int32_t length, const char *locale,
                            int32_t *breaks, int32_t capacity);

/// Like nmt_sentence_breaks, with ICU's line-break opportunities (UAX #14): the offsets where a
/// line may wrap, which lie after spaces, after dashes and clause punctuation, and between the
/// ideographs of scripts written without spaces.
int32_t nmt_line_breaks(const uint16_t *text, int32_t length, const char *locale,
                        int32_t *breaks, int32_t capacity);

/// The ICU break iterators open now in this process: each thread that has split text keeps up
/// to two until it exits. For tests and diagnostics.
int32_t nmt_break_iterators_open(void);

/// ICU's name of an error code returned (negated) by the functions above, e.g. "U_MEMORY_ALLOCATION_ERROR".
/// The string is static.
const char *nmt_break_error_name(int32_t code);

#ifdef __cplusplus
}
#endif

#endif
