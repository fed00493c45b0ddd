#include "CSentenceBreak.h"

// Including ICU's own headers maps each call to Debian's versioned symbol (ubrk_open_72, ...).
#include <unicode/ubrk.h>
#include <unicode/utypes.h>

// One iterator per call: a UBreakIterator is not thread-safe, and ICU caches the compiled rules,
// so opening one costs little next to translating the text it splits.
static int32_t breaks_of_kind(UBreakIteratorType kind, const uint16_t *text, int32_t length,
                              const char *locale, int32_t *breaks, int32_t capacity) {
    if (length < 0 || capacity < 0 || (length > 0 && (text == NULL || breaks == NULL))) {
        return -(int32_t)U_ILLEGAL_ARGUMENT_ERROR;
    }
    if (length == 0) {
        return 0;  // ICU would report only offset 0, which is not written.
    }
    UErrorCode status = U_ZERO_ERROR;
    UBreakIterator *iterator = ubrk_open(kind, locale ? locale : "", (const UChar *)text, length, &status);
    if (U_FAILURE(status)) {
        return -(int32_t)status;
    }
    int32_t count = 0;
    ubrk_first(iterator);
    for (int32_t offset = ubrk_next(iterator); offset != UBRK_DONE; offset = ubrk_next(iterator)) {
        if (count == capacity) {
            ubrk_close(iterator);
            return -(int32_t)U_BUFFER_OVERFLOW_ERROR;
        }
        breaks[count++] = offset;
    }
    ubrk_close(iterator);
    return count;
}

int32_t nmt_sentence_breaks(const uint16_t *text, int32_t length, const char *locale,
                            int32_t *breaks, int32_t capacity) {
    return breaks_of_kind(UBRK_SENTENCE, text, length, locale, breaks, capacity);
}

int32_t nmt_line_breaks(const uint16_t *text, int32_t length, const char *locale,
                        int32_t *breaks, int32_t capacity) {
    return breaks_of_kind(UBRK_LINE, text, length, locale, breaks, capacity);
}

const char *nmt_break_error_name(int32_t code) {
    return u_errorName((UErrorCode)code);
}
