/* libFuzzer target for the replay trace parser (trace.c): parse only, no library is loaded.
 *
 * Built with -DDAP_LM_FUZZ=ON by clang (c_tests/replay/CMakeLists.txt); RELIABILITY.md "Fuzzing" has the
 * commands. Besides the sanitizers' memory checks, each input checks what the replayer relies on:
 * a refusal says why ("line N: ..."); an accepted trace has numbered, printable events, and its
 * normalised text (each event's `text`, one per line, as the replayer prints and records it) parses
 * again to the same events; and every word of the input gets the same verdict and value from
 * lm_parse_addr/lm_parse_net as from the grammar of trace.h, written out again below (and an address
 * formatted by lm_addr_fmt reads back the same). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dap_link_manager.h"
#include "trace.h"

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "fuzz_trace: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                       \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* The number grammar of trace.h: "0x"/"0X" and hex digits, or decimal digits; no sign, no blank, no
 * octal; must fit in 64 bits. */
static bool ref_number(const char *s, uint64_t *out)
{
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    unsigned base = hex ? 16 : 10;
    const char *p = hex ? s + 2 : s;
    if (!*p)
        return false;
    uint64_t v = 0;
    for (; *p; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (hex && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (hex && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            return false;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

/* ADDR: "XXXX::XXXX::XXXX::XXXX", each X a hex digit, or a number. */
static bool ref_addr(const char *s, uint64_t *out)
{
    if (strlen(s) == 22) {
        uint64_t v = 0;
        bool ok = true;
        for (int i = 0; i < 22 && ok; i++) {
            char c = s[i];
            if (i % 6 >= 4) {
                ok = c == ':';
                continue;
            }
            unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                         : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                         : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                : 16;
            ok = d < 16;
            v = v << 4 | d;
        }
        if (ok) {
            *out = v;
            return true;
        }
    }
    return ref_number(s, out);
}

static void check_word(const char *w)
{
    uint64_t got = 0, want = 0;
    bool ok = lm_parse_addr(w, &got), ref = ref_addr(w, &want);
    if (ok != ref || (ok && got != want)) {
        fprintf(stderr, "fuzz_trace: lm_parse_addr(\"%s\") = %d, %#llx; the grammar says %d, %#llx\n", w, ok,
                (unsigned long long)got, ref, (unsigned long long)want);
        abort();
    }
    if (ok) { /* the replayer prints addresses with lm_addr_fmt: it reads back the same */
        char buf[24];
        uint64_t back = 0;
        CHECK(lm_parse_addr(lm_addr_fmt(got, buf), &back) && back == got && strlen(buf) == 22);
    }
    ok = lm_parse_net(w, &got);
    ref = strcmp(w, "INVALID") ? ref_number(w, &want) : (want = DAP_NET_ID_INVALID, true);
    if (ok != ref || (ok && got != want)) {
        fprintf(stderr, "fuzz_trace: lm_parse_net(\"%s\") = %d, %#llx; the grammar says %d, %#llx\n", w, ok,
                (unsigned long long)got, ref, (unsigned long long)want);
        abort();
    }
}

/* Every word (as the parser splits a line, a newline ending it too) of text. */
static void check_words(char *text)
{
    for (char *save = NULL, *w = strtok_r(text, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save))
        if (strlen(w) < LM_TRACE_TOKEN)
            check_word(w);
}

static bool same_event(const lm_event_t *a, const lm_event_t *b)
{
    return a->kind == b->kind && a->addr == b->addr && a->net == b->net && a->num == b->num && a->query == b->query &&
           a->flag == b->flag && a->any_addr == b->any_addr && !strcmp(a->s1, b->s1) && !strcmp(a->s2, b->s2) &&
           !strcmp(a->text, b->text);
}

static void check_accepted(const lm_trace_t *t)
{
    size_t len = 1;
    for (size_t i = 0; i < t->n; i++) {
        const lm_event_t *e = &t->ev[i];
        CHECK(e->kind >= 0 && e->kind < EV_KINDS);
        CHECK(e->line >= 1 && (i == 0 || e->line > t->ev[i - 1].line));
        CHECK(e->text && e->text[0] && !strchr(e->text, '\n') && !strchr(e->text, '#'));
        CHECK(memchr(e->s1, '\0', sizeof(e->s1)) && memchr(e->s2, '\0', sizeof(e->s2)));
        len += strlen(e->text) + 1;
    }
    char *again = malloc(len), *p = again;
    CHECK(again);
    for (size_t i = 0; i < t->n; i++)
        p += sprintf(p, "%s\n", t->ev[i].text);
    *p = '\0';
    lm_trace_t u;
    char err[512] = "";
    CHECK(lm_trace_parse(again, &u, err, sizeof(err)));
    CHECK(u.n == t->n);
    for (size_t i = 0; i < t->n; i++)
        CHECK(same_event(&t->ev[i], &u.ev[i]));
    lm_trace_free(&u);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the parser takes a NUL-terminated text, as lm_read_file returns it */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    lm_trace_t t;
    char err[512];
    memset(err, 'x', sizeof(err));
    if (lm_trace_parse(text, &t, err, sizeof(err))) {
        check_accepted(&t);
        lm_trace_free(&t);
    } else {
        CHECK(memchr(err, '\0', sizeof(err)) && !strncmp(err, "line ", 5));
        CHECK(t.n == 0 && t.ev == NULL); /* a refusal frees what it parsed */
    }
    check_words(text);
    free(text);
    return 0;
}
