/*
 * opts.c - the option table. One table drives parsing, validation, --help
 * and the README's option list (`newsdedup help --markdown`), the way
 * librdkafka's rdkafka_conf.c drives CONFIGURATION.md.
 *
 * A default is whatever value the conf holds after nd_cli_defaults(), so
 * engine defaults are the engine's own (nd_dedup_conf_init) and never copied.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum {
    ND_OPT_FLAG,     /* int set to 1 */
    ND_OPT_INT,      /* int within [min,max] */
    ND_OPT_U32,      /* uint32_t within [min,max] */
    ND_OPT_DOUBLE,   /* double within [min,max] */
    ND_OPT_STR,      /* const char * */
    ND_OPT_LIST,     /* const char *[ND_CLI_LIST_MAX] with an int count after it */
    ND_OPT_DURATION, /* int64_t ms; "72h", "30m", "90s", "500ms" or plain ms */
    ND_OPT_CANON,    /* nd_canon_policy_t: first | longest | source */
} nd_opt_type_t;

typedef struct nd_opt_s {
    const char *name; /* long name, without "--" */
    char shortopt;    /* 0 if none */
    nd_opt_type_t type;
    const char *arg;  /* argument name in help */
    int cmds;         /* ND_CMD_* mask */
    size_t off;       /* offset in nd_cli_conf_t */
    size_t count_off; /* ND_OPT_LIST: offset of the int count */
    double min, max;
    const char *desc;
} nd_opt_t;

#define OFF(f) offsetof(nd_cli_conf_t, f)
#define NOCNT  0

static const nd_opt_t nd_opts[] = {
    /* Input and output of `dedup` */
    {"in", 'i', ND_OPT_STR, "FILE", ND_CMD_DEDUP, OFF(in), NOCNT, 0, 0,
     "ninjs JSON Lines input, one article per line; - for stdin"},
    {"out-dir", 'o', ND_OPT_STR, "DIR", ND_CMD_DEDUP, OFF(out_dir), NOCNT, 0, 0,
     "directory for canonical.jsonl, memberships.jsonl, clusters.jsonl, rejects.jsonl"},
    {"load-snapshot", 0, ND_OPT_STR, "FILE", ND_CMD_DEDUP, OFF(load_snapshot), NOCNT, 0, 0,
     "start from the engine state saved in FILE"},
    {"save-snapshot", 0, ND_OPT_STR, "FILE", ND_CMD_DEDUP, OFF(save_snapshot), NOCNT, 0, 0,
     "save the engine state to FILE at the end"},
    {"summary", 0, ND_OPT_INT, "N", ND_CMD_DEDUP | ND_CMD_DEMO, OFF(summary), NOCNT, 0, 100000,
     "print the N biggest clusters at the end (0: none)"},
    {"threads", 'j', ND_OPT_INT, "N", ND_CMD_DEDUP | ND_CMD_RUN, OFF(threads), NOCNT, 1, 64,
     "threads that parse, normalise and sign; decisions stay in input order"},
    /* Engine */
    {"window", 0, ND_OPT_DURATION, "DUR", ND_CMD_ENGINE, OFF(engine.window_ms), NOCNT, 1, 1e15,
     "event-time window of the index (e.g. 72h, 30m, 90s)"},
    {"max-articles", 0, ND_OPT_U32, "N", ND_CMD_ENGINE, OFF(engine.max_articles), NOCNT, 1, 4e9,
     "cap on indexed articles; the oldest are evicted beyond it"},
    {"shingle", 0, ND_OPT_U32, "K", ND_CMD_ENGINE, OFF(engine.shingle_tokens), NOCNT, 1, 16,
     "tokens per shingle"},
    {"bands", 0, ND_OPT_U32, "B", ND_CMD_ENGINE, OFF(engine.bands), NOCNT, 1, ND_LSH_SLOTS,
     "LSH bands"},
    {"rows", 0, ND_OPT_U32, "R", ND_CMD_ENGINE, OFF(engine.rows), NOCNT, 2, ND_LSH_SLOTS / 2,
     "signature slots per LSH band (bands x rows <= 64)"},
    {"threshold", 0, ND_OPT_DOUBLE, "X", ND_CMD_ENGINE, OFF(engine.threshold), NOCNT, 0, 1,
     "verified similarity an article needs to join a cluster"},
    {"canonical", 0, ND_OPT_CANON, "POLICY", ND_CMD_ENGINE, OFF(engine.canonical), NOCNT, 0, 0,
     "which article is a cluster's canonical: first, longest or source"},
    {"prefer-sources", 0, ND_OPT_STR, "LIST", ND_CMD_ENGINE, OFF(engine.preferred_sources), NOCNT,
     0, 0, "comma-separated sources, best first, for --canonical source"},
    {"kernel", 0, ND_OPT_STR, "NAME", ND_CMD_ENGINE, OFF(engine.kernel), NOCNT, 0, 0,
     "signature kernel: auto, scalar, avx2 or neon"},
    {"max-doc-bytes", 0, ND_OPT_INT, "N", ND_CMD_ENGINE, OFF(parser.max_doc_bytes), NOCNT, 64, 1e9,
     "larger input documents are rejected (too_large)"},
    {"max-depth", 0, ND_OPT_INT, "N", ND_CMD_ENGINE, OFF(parser.max_depth), NOCNT, 2, 10000,
     "deeper JSON nesting is rejected (too_deep)"},
    /* Kafka (`run`) */
    {"brokers", 'b', ND_OPT_STR, "LIST", ND_CMD_RUN, OFF(brokers), NOCNT, 0, 0,
     "bootstrap brokers, host:port[,host:port...]"},
    {"group", 'G', ND_OPT_STR, "GROUP", ND_CMD_RUN, OFF(group), NOCNT, 0, 0,
     "consumer group id (also derives the transactional.id)"},
    {"property", 'X', ND_OPT_LIST, "PROP=VAL", ND_CMD_RUN, OFF(kafka_props), OFF(n_kafka_props), 0,
     0, "librdkafka property; topic.PROP=VAL for topic properties; repeatable"},
    {"config", 'F', ND_OPT_STR, "FILE", ND_CMD_RUN, OFF(config_file), NOCNT, 0, 0,
     "file of librdkafka property=value lines (# comments)"},
    {"exit-at-end", 'e', ND_OPT_FLAG, NULL, ND_CMD_RUN, OFF(exit_at_end), NOCNT, 0, 0,
     "exit once every assigned partition is at its end"},
    {"at-least-once", 0, ND_OPT_FLAG, NULL, ND_CMD_RUN, OFF(at_least_once), NOCNT, 0, 0,
     "no transactions (for brokers without them); replays are harmless"},
    {"canonical-topic", 0, ND_OPT_STR, "TOPIC", ND_CMD_RUN, OFF(out_topics[ND_OUT_CANONICAL]),
     NOCNT, 0, 0, "output topic of canonical records"},
    {"memberships-topic", 0, ND_OPT_STR, "TOPIC", ND_CMD_RUN, OFF(out_topics[ND_OUT_MEMBERSHIPS]),
     NOCNT, 0, 0, "output topic of membership records"},
    {"clusters-topic", 0, ND_OPT_STR, "TOPIC", ND_CMD_RUN, OFF(out_topics[ND_OUT_CLUSTERS]), NOCNT,
     0, 0, "output topic of cluster count records"},
    {"rejects-topic", 0, ND_OPT_STR, "TOPIC", ND_CMD_RUN, OFF(out_topics[ND_OUT_REJECTS]), NOCNT, 0,
     0, "output topic of rejected inputs"},
    {"state-topic", 0, ND_OPT_STR, "TOPIC", ND_CMD_RUN, OFF(state_topic), NOCNT, 0, 0,
     "compacted topic of engine state, replayed at start"},
    {"batch-size", 0, ND_OPT_INT, "N", ND_CMD_RUN, OFF(batch_size), NOCNT, 1, 1000000,
     "input messages per transaction at most"},
    {"metrics-addr", 0, ND_OPT_STR, "ADDR", ND_CMD_RUN | ND_CMD_DEMO, OFF(metrics_addr), NOCNT, 0,
     0, "address of the Prometheus /metrics endpoint"},
    {"metrics-port", 0, ND_OPT_INT, "PORT", ND_CMD_RUN | ND_CMD_DEMO, OFF(metrics_port), NOCNT, 0,
     65535, "port of the /metrics endpoint (0: off)"},
    {"log-interval", 0, ND_OPT_INT, "SECONDS", ND_CMD_RUN | ND_CMD_DEMO, OFF(log_interval_s), NOCNT,
     0, 86400, "seconds between progress log lines (0: off)"},
    /* broker */
    {"broker-count", 0, ND_OPT_INT, "N", ND_CMD_BROKER | ND_CMD_DEMO, OFF(broker_count), NOCNT, 1,
     16, "brokers in the embedded mock cluster"},
    {"topic", 't', ND_OPT_LIST, "NAME[:PARTITIONS]", ND_CMD_BROKER, OFF(broker_topics),
     OFF(n_broker_topics), 0, 0, "create a topic at start; repeatable"},
    /* demo */
    {"feed", 0, ND_OPT_STR, "FILE", ND_CMD_DEMO, OFF(feed), NOCNT, 0, 0,
     "the wire feed to play (default: the bundled demo feed)"},
};
#define ND_NOPTS (sizeof(nd_opts) / sizeof(nd_opts[0]))

static const char *nd_cmd_name(int cmd)
{
    switch (cmd) {
    case ND_CMD_DEDUP:
        return "dedup";
    case ND_CMD_RUN:
        return "run";
    case ND_CMD_BROKER:
        return "broker";
    case ND_CMD_DEMO:
        return "demo";
    }
    return "?";
}

static const char *nd_cmd_synopsis(int cmd)
{
    switch (cmd) {
    case ND_CMD_DEDUP:
        return "newsdedup dedup --in FILE|- --out-dir DIR [options]";
    case ND_CMD_RUN:
        return "newsdedup run -b BROKERS -G GROUP [options] TOPIC...";
    case ND_CMD_BROKER:
        return "newsdedup broker [--broker-count N] [--topic NAME[:P]]...";
    case ND_CMD_DEMO:
        return "newsdedup demo [options]";
    }
    return "";
}

void nd_cli_defaults(nd_cli_conf_t *conf)
{
    memset(conf, 0, sizeof(*conf));
    nd_dedup_conf_init(&conf->engine);
    nd_parser_conf_init(&conf->parser);
    conf->engine.kernel = "auto";
    conf->threads = 1;
    conf->out_topics[ND_OUT_CANONICAL] = "dedup.canonical";
    conf->out_topics[ND_OUT_MEMBERSHIPS] = "dedup.memberships";
    conf->out_topics[ND_OUT_CLUSTERS] = "dedup.clusters";
    conf->out_topics[ND_OUT_REJECTS] = "dedup.rejects";
    conf->state_topic = "dedup.state";
    conf->metrics_addr = "127.0.0.1";
    conf->metrics_port = 0;
    conf->log_interval_s = 10;
    conf->batch_size = ND_RUN_BATCH_SIZE;
    conf->broker_count = 1;
}

/* Parse a duration: digits then an optional unit ms, s, m, h, d. */
static int nd_parse_duration(const char *s, int64_t *ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    double mul = 1;
    if (!strcmp(end, "") || !strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "s"))
        mul = 1000;
    else if (!strcmp(end, "m"))
        mul = 60e3;
    else if (!strcmp(end, "h"))
        mul = 3600e3;
    else if (!strcmp(end, "d"))
        mul = 86400e3;
    else
        return -1;
    *ms = (int64_t)(v * mul);
    return 0;
}

/* Format the current value of option o in conf, for --help. */
static void nd_opt_value_str(const nd_opt_t *o, const nd_cli_conf_t *conf, char *out,
                             size_t out_size)
{
    const char *base = (const char *)conf;
    const void *p = base + o->off;
    out[0] = '\0';
    switch (o->type) {
    case ND_OPT_FLAG:
        snprintf(out, out_size, "%s", *(const int *)p ? "on" : "off");
        break;
    case ND_OPT_INT:
        snprintf(out, out_size, "%d", *(const int *)p);
        break;
    case ND_OPT_U32:
        snprintf(out, out_size, "%u", *(const uint32_t *)p);
        break;
    case ND_OPT_DOUBLE:
        snprintf(out, out_size, "%g", *(const double *)p);
        break;
    case ND_OPT_STR: {
        const char *s = *(const char *const *)p;
        snprintf(out, out_size, "%s", s ? s : "");
        break;
    }
    case ND_OPT_LIST:
        break;
    case ND_OPT_DURATION: {
        int64_t ms = *(const int64_t *)p;
        if (ms % 3600000 == 0)
            snprintf(out, out_size, "%lldh", (long long)(ms / 3600000));
        else if (ms % 1000 == 0)
            snprintf(out, out_size, "%llds", (long long)(ms / 1000));
        else
            snprintf(out, out_size, "%lldms", (long long)ms);
        break;
    }
    case ND_OPT_CANON: {
        static const char *names[] = {"first", "longest", "source"};
        int v = *(const int *)p;
        snprintf(out, out_size, "%s", v >= 0 && v < 3 ? names[v] : "?");
        break;
    }
    }
}

/* Parse arg into option o of conf. @return 0, or -1 with a message in err. */
static int nd_opt_set(const nd_opt_t *o, nd_cli_conf_t *conf, const char *arg, char *err,
                      size_t err_size)
{
    char *base = (char *)conf;
    void *p = base + o->off;
    char *end;
    switch (o->type) {
    case ND_OPT_FLAG:
        *(int *)p = 1;
        return 0;
    case ND_OPT_INT:
    case ND_OPT_U32:
    case ND_OPT_DOUBLE: {
        double v = strtod(arg, &end);
        if (end == arg || *end || v < o->min || v > o->max ||
            (o->type != ND_OPT_DOUBLE && v != (double)(long long)v)) {
            snprintf(err, err_size, "--%s: '%s' is not a %s in [%g, %g]", o->name, arg,
                     o->type == ND_OPT_DOUBLE ? "number" : "whole number", o->min, o->max);
            return -1;
        }
        if (o->type == ND_OPT_INT) {
            if (o->off == OFF(parser.max_doc_bytes))
                *(size_t *)p = (size_t)v;
            else
                *(int *)p = (int)v;
        } else if (o->type == ND_OPT_U32) {
            *(uint32_t *)p = (uint32_t)v;
        } else {
            *(double *)p = v;
        }
        return 0;
    }
    case ND_OPT_STR:
        *(const char **)p = arg;
        return 0;
    case ND_OPT_LIST: {
        int *cnt = (int *)(base + o->count_off);
        if (*cnt >= ND_CLI_LIST_MAX) {
            snprintf(err, err_size, "--%s: at most %d times", o->name, ND_CLI_LIST_MAX);
            return -1;
        }
        ((const char **)p)[(*cnt)++] = arg;
        return 0;
    }
    case ND_OPT_DURATION:
        if (nd_parse_duration(arg, (int64_t *)p) || *(int64_t *)p < (int64_t)o->min) {
            snprintf(err, err_size, "--%s: '%s' is not a duration (e.g. 72h, 30m, 90s, 500ms)",
                     o->name, arg);
            return -1;
        }
        return 0;
    case ND_OPT_CANON:
        if (!strcmp(arg, "first"))
            *(nd_canon_policy_t *)p = ND_CANON_FIRST;
        else if (!strcmp(arg, "longest"))
            *(nd_canon_policy_t *)p = ND_CANON_LONGEST;
        else if (!strcmp(arg, "source"))
            *(nd_canon_policy_t *)p = ND_CANON_SOURCE;
        else {
            snprintf(err, err_size, "--%s: '%s' is not one of first, longest, source", o->name,
                     arg);
            return -1;
        }
        return 0;
    }
    return -1;
}

void nd_cli_usage(int cmd, FILE *f)
{
    nd_cli_conf_t def;
    nd_cli_defaults(&def);
    fprintf(f, "Usage: %s\n\nOptions:\n", nd_cmd_synopsis(cmd));
    for (size_t i = 0; i < ND_NOPTS; i++) {
        const nd_opt_t *o = &nd_opts[i];
        if (!(o->cmds & cmd))
            continue;
        char flag[64], val[64];
        if (o->shortopt)
            snprintf(flag, sizeof(flag), "-%c, --%s%s%s", o->shortopt, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(flag, sizeof(flag), "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        nd_opt_value_str(o, &def, val, sizeof(val));
        fprintf(f, "  %-28s %s", flag, o->desc);
        if (val[0] && o->type != ND_OPT_FLAG)
            fprintf(f, " (default: %s)", val);
        fputc('\n', f);
    }
    fprintf(f, "  -h, --help                   show this help\n");
}

void nd_cli_options_markdown(FILE *f)
{
    static const int cmds[] = {ND_CMD_DEDUP, ND_CMD_RUN, ND_CMD_BROKER, ND_CMD_DEMO};
    nd_cli_conf_t def;
    nd_cli_defaults(&def);
    for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
        fprintf(f, "#### `newsdedup %s`\n\n`%s`\n\n", nd_cmd_name(cmds[c]),
                nd_cmd_synopsis(cmds[c]));
        fprintf(f, "| option | default | meaning |\n| --- | --- | --- |\n");
        for (size_t i = 0; i < ND_NOPTS; i++) {
            const nd_opt_t *o = &nd_opts[i];
            if (!(o->cmds & cmds[c]))
                continue;
            char val[64];
            nd_opt_value_str(o, &def, val, sizeof(val));
            fprintf(f, "| ");
            if (o->shortopt)
                fprintf(f, "`-%c`, ", o->shortopt);
            fprintf(f, "`--%s%s%s` | %s | %s |\n", o->name, o->arg ? " " : "", o->arg ? o->arg : "",
                    o->type == ND_OPT_FLAG ? "off" : val, o->desc);
        }
        fputc('\n', f);
    }
}

int nd_cli_parse(int cmd, int argc, char **argv, nd_cli_conf_t *conf)
{
    struct option longopts[ND_NOPTS + 2];
    const nd_opt_t *byval[ND_NOPTS + 2];
    char shortopts[3 * ND_NOPTS + 4];
    size_t nl = 0, ns = 0;
    char err[256];

    nd_cli_defaults(conf);
    for (size_t i = 0; i < ND_NOPTS; i++) {
        const nd_opt_t *o = &nd_opts[i];
        if (!(o->cmds & cmd))
            continue;
        int has_arg = o->type == ND_OPT_FLAG ? no_argument : required_argument;
        int val = o->shortopt ? o->shortopt : 256 + (int)i;
        longopts[nl] = (struct option){o->name, has_arg, NULL, val};
        byval[nl++] = o;
        if (o->shortopt) {
            shortopts[ns++] = o->shortopt;
            if (has_arg == required_argument)
                shortopts[ns++] = ':';
        }
    }
    longopts[nl++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[nl] = (struct option){NULL, 0, NULL, 0};
    shortopts[ns++] = 'h';
    shortopts[ns] = '\0';

    /* getopt's own messages name argv[0]: the command, as the user typed it */
    char prog[32], *argv0 = argv[0];
    snprintf(prog, sizeof(prog), "newsdedup %s", nd_cmd_name(cmd));
    argv[0] = prog;
    optind = 1;
    opterr = 1;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (c == 'h') {
            nd_cli_usage(cmd, stdout);
            rc = 1;
            break;
        }
        if (c == '?') {
            fprintf(stderr, "Try 'newsdedup %s --help'.\n", nd_cmd_name(cmd));
            rc = -1;
            break;
        }
        const nd_opt_t *o = NULL;
        for (size_t i = 0; i + 1 < nl && !o; i++)
            if (longopts[i].val == c)
                o = byval[i];
        if (!o) {
            rc = -1;
        } else if (nd_opt_set(o, conf, optarg, err, sizeof(err))) {
            fprintf(stderr, "newsdedup %s: %s\n", nd_cmd_name(cmd), err);
            rc = -1;
        }
    }
    argv[0] = argv0;
    if (rc)
        return rc;
    conf->args = argv + optind;
    conf->n_args = argc - optind;
    if (conf->engine.kernel && !strcmp(conf->engine.kernel, "auto"))
        conf->engine.kernel = NULL;
    return 0;
}

double nd_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
