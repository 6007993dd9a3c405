/*
 * cli.h - the newsdedup command line: subcommands, the option table, the
 * cluster summary table. Internal to the CLI folder.
 */
#ifndef ND_CLI_H
#define ND_CLI_H

#include <stdio.h>

#include "nd_dedup.h"
#include "nd_ingest.h"
#include "nd_sinks.h"

/* Subcommands, as a bit mask: an option applies to one or more of them. */
enum {
    ND_CMD_DEDUP = 1 << 0,
    ND_CMD_RUN = 1 << 1,
    ND_CMD_BROKER = 1 << 2,
    ND_CMD_DEMO = 1 << 3,
};
#define ND_CMD_ENGINE   (ND_CMD_DEDUP | ND_CMD_RUN | ND_CMD_DEMO)
#define ND_CLI_LIST_MAX 64
/* Input messages per transaction of `run` unless --batch-size says otherwise
 * (docs/BENCHMARKS.md, "Kafka": 5,000 ran backfills ~1.6x faster than 1,000). */
#define ND_RUN_BATCH_SIZE 5000

/*
 * nd_cli_conf_t: every option of every subcommand, filled by nd_cli_parse()
 * from the option table in opts.c. Strings point into argv or are static.
 */
typedef struct nd_cli_conf_s {
    nd_dedup_conf_t engine;
    nd_parser_conf_t parser;
    /* dedup */
    const char *in;
    const char *out_dir;
    const char *load_snapshot;
    const char *save_snapshot;
    int summary; /* print the N biggest clusters at the end; 0 = off */
    int threads; /* parse+sign worker threads */
    /* run */
    const char *brokers;
    const char *group;
    const char *kafka_props[ND_CLI_LIST_MAX]; /* "prop=value" from -X */
    int n_kafka_props;
    const char *config_file; /* -F */
    int exit_at_end;
    int at_least_once;
    const char *out_topics[ND_OUT__CNT];
    const char *state_topic;
    const char *metrics_addr;
    int metrics_port;
    int log_interval_s;
    int batch_size; /* >= 1; ND_RUN_BATCH_SIZE unless --batch-size */
    /* broker */
    int broker_count;
    const char *broker_topics[ND_CLI_LIST_MAX]; /* "name[:partitions]" */
    int n_broker_topics;
    /* demo */
    const char *feed;
    /* positional arguments (topics for run) */
    char **args;
    int n_args;
} nd_cli_conf_t;

/*
 * nd_cli_parse: reset conf to the defaults, then parse argv for subcommand
 * cmd (one ND_CMD_* bit). argv[0] is the subcommand name. Prints --help
 * and returns 1 for --help, prints an error and returns -1 on bad usage,
 * returns 0 otherwise.
 */
int nd_cli_parse(int cmd, int argc, char **argv, nd_cli_conf_t *conf);

/* nd_cli_defaults: fill conf with the defaults only. */
void nd_cli_defaults(nd_cli_conf_t *conf);

/* nd_cli_usage: print the usage and options of cmd to f. */
void nd_cli_usage(int cmd, FILE *f);

/* nd_cli_options_markdown: print every option of every subcommand as the
 * Markdown tables the README carries. */
void nd_cli_options_markdown(FILE *f);

/*
 * nd_summary_t: tracks clusters for the end-of-run table (canonical headline,
 * articles, sources), fed with each decision.
 */
typedef struct nd_summary_s nd_summary_t;
nd_summary_t *nd_summary_new(void);
void nd_summary_destroy(nd_summary_t *s);
/* nd_summary_add: note a decision (REDELIVERY is ignored). @return 0 or -1 on OOM. */
int nd_summary_add(nd_summary_t *s, const nd_article_t *art, const nd_decision_t *d);
/* nd_summary_print: print the n biggest clusters, biggest first, ties by first seen. */
void nd_summary_print(const nd_summary_t *s, int n, FILE *f);

/* nd_now_ms: monotonic clock in ms, for throughput figures. */
double nd_now_ms(void);

/* Subcommands: each returns the process exit status. */
int nd_cmd_dedup(int argc, char **argv);
int nd_cmd_run(int argc, char **argv);
int nd_cmd_broker(int argc, char **argv);
int nd_cmd_demo(int argc, char **argv);

#endif /* ND_CLI_H */
