/*  libFuzzer target: a feed given to `flowctl import`.
 *
 *  The first byte picks the format (even: iCalendar, odd: JSON lines);
 *  the rest is the feed's text.  Every entry is parsed into a draft or a
 *  problem report; nothing here may crash, leak or hang whatever the
 *  file holds.
 */
#include "clients/import.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
s_entry(const char *where, const Flow__EventDraft *draft, const char *problem, void *arg)
{
    (void) where;
    (void) draft;
    (void) problem;
    (void) arg;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    fl_import_options_t options = { .platform = "fuzz", .now_s = 1893456000,
                                    .horizon_days = 30, .has_geo = true, .lat = 52.5,
                                    .lon = 13.4 };
    if (data[0] % 2 == 0)
        fl_import_parse_ics(text, &options, s_entry, NULL);
    else
        fl_import_parse_jsonl(text, &options, s_entry, NULL);
    free(text);
    return 0;
}
