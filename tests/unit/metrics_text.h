/* metrics_text - helpers for tests that read a /metrics scrape. Criterion asserts on failure. */
#ifndef AIGW_TEST_METRICS_TEXT_H
#define AIGW_TEST_METRICS_TEXT_H

struct gw_gateway;

/* gw_metrics_render into a malloc'ed string. */
char *mt_render(const struct gw_gateway *gw);
/* The sample lines (no comments) of one metric name prefix, '\n'-joined (malloc'ed). */
char *mt_samples(const char *text, const char *prefix);
/* Lines that start with prefix. */
int mt_count_lines(const char *text, const char *prefix);
/* Asserts that the samples of prefix are exactly want. */
void mt_expect(const char *text, const char *prefix, const char *want);

#endif
