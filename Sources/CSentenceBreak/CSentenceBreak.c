#include "CSentenceBreak.h"

// Including ICU's own headers maps each call to Debian's versioned symbol (ubrk_open_72, ...).
#include <unicode/ubrk.h>
#include <unicode/utypes.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

// Iterators open now, for tests and diagnostics (nmt_break_iterators_open).
static atomic_int open_iterators;

static UBreakIterator *open_iterator(UBreakIteratorType kind, const char *locale, const uint16_t *text,
                                     int32_t length, UErrorCode *status) {
    UBreakIterator *iterator = ubrk_open(kind, locale, (const UChar *)text, length, status);
    if (U_SUCCESS(*status)) {
        atomic_fetch_add(&open_iterators, 1);
    }
    return iterator;
}

static void close_iterator(UBreakIterator *iterator) {
    ubrk_close(iterator);
    atomic_fetch_sub(&open_iterators, 1);
}

// One iterator per thread and kind, kept for the next call with the same locale: a UBreakIterator
// is not thread-safe, and opening one is not cheap (with `@ss=standard` ICU builds the
// abbreviation filter each time: about 4% of a greedy translation of short lines when opened per
// call). Reused with ubrk_setText. The cache hangs on a pthread key whose destructor closes the
// iterators when the thread exits, so threads that come and go (a server's dispatch threads) leak
// nothing. Without a cache (allocation failed) every call opens and closes its own iterator.
typedef struct {
    UBreakIterator *iterator;
    char locale[64];
} cached_iterator;

enum { cached_kinds = 2 };  // [0] sentences, [1] lines

static pthread_key_t cache_key;
static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;
static int cache_key_ready;

static void close_cache(void *value) {
    cached_iterator *cache = value;
    for (int kind = 0; kind < cached_kinds; kind++) {
        if (cache[kind].iterator != NULL) {
            close_iterator(cache[kind].iterator);
        }
    }
    free(cache);
}

static void create_cache_key(void) {
    cache_key_ready = pthread_key_create(&cache_key, close_cache) == 0;
}

static cached_iterator *thread_cache(void) {
    pthread_once(&cache_key_once, create_cache_key);
    if (!cache_key_ready) {
        return NULL;
    }
    cached_iterator *cache = pthread_getspecific(cache_key);
    if (cache == NULL) {
        cache = calloc(cached_kinds, sizeof *cache);
        if (cache != NULL && pthread_setspecific(cache_key, cache) != 0) {
            free(cache);
            cache = NULL;
        }
    }
    return cache;
}

static UBreakIterator *iterator_for(UBreakIteratorType kind, const char *locale, const uint16_t *text,
                                    int32_t length, UErrorCode *status, int *owned) {
    cached_iterator *cache = thread_cache();
    cached_iterator *slot = cache ? &cache[kind == UBRK_SENTENCE ? 0 : 1] : NULL;
    *owned = 0;
    if (slot != NULL && slot->iterator != NULL && strcmp(slot->locale, locale) == 0) {
        ubrk_setText(slot->iterator, (const UChar *)text, length, status);
        if (U_FAILURE(*status)) {
            // Leave no iterator behind in an unknown state.
            close_iterator(slot->iterator);
            slot->iterator = NULL;
            return NULL;
        }
        return slot->iterator;
    }
    UBreakIterator *iterator = open_iterator(kind, locale, text, length, status);
    if (U_FAILURE(*status)) {
        return NULL;
    }
    if (slot != NULL && strlen(locale) < sizeof slot->locale) {
        if (slot->iterator != NULL) {
            close_iterator(slot->iterator);
        }
        slot->iterator = iterator;
        strcpy(slot->locale, locale);
    } else {
        *owned = 1;  // no cache, or a locale too long to remember: closed after this call
    }
    return iterator;
}

static int32_t breaks_of_kind(UBreakIteratorType kind, const uint16_t *text, int32_t length,
                              const char *locale, int32_t *breaks, int32_t capacity) {
    if (length < 0 || capacity < 0 || (length > 0 && (text == NULL || breaks == NULL))) {
        return -(int32_t)U_ILLEGAL_ARGUMENT_ERROR;
    }
    if (length == 0) {
        return 0;  // ICU would report only offset 0, which is not written.
    }
    UErrorCode status = U_ZERO_ERROR;
    int owned = 0;
    UBreakIterator *iterator = iterator_for(kind, locale ? locale : "", text, length, &status, &owned);
    if (U_FAILURE(status)) {
        return -(int32_t)status;
    }
    int32_t count = 0;
    ubrk_first(iterator);
    for (int32_t offset = ubrk_next(iterator); offset != UBRK_DONE; offset = ubrk_next(iterator)) {
        if (count == capacity) {
            count = -(int32_t)U_BUFFER_OVERFLOW_ERROR;
            break;
        }
        breaks[count++] = offset;
    }
    if (owned) {
        close_iterator(iterator);
    }
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

int32_t nmt_break_iterators_open(void) {
    return atomic_load(&open_iterators);
}

const char *nmt_break_error_name(int32_t code) {
    return u_errorName((UErrorCode)code);
}
