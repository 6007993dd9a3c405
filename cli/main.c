/*
 * main.c - `newsdedup <command>`: dispatch to the subcommands.
 */
#include "cli.h"

#include <string.h>

static void nd_main_usage(FILE *f)
{
    fprintf(f, "newsdedup " ND_VERSION_STR " - news ingest and near-duplicate deduplication\n\n"
               "Usage: newsdedup <command> [options]\n\n"
               "Commands:\n"
               "  dedup    deduplicate ninjs JSON Lines into four JSON Lines files\n"
               "  run      consume wire topics from Kafka, produce deduplicated topics\n"
               "  broker   run an embedded Kafka-protocol broker (librdkafka mock cluster)\n"
               "  demo     play the demo wire feed through Kafka and print its clusters\n"
               "  help     this text; `help --markdown` prints every option as Markdown\n\n"
               "`newsdedup <command> --help` lists a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        nd_main_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "dedup"))
        return nd_cmd_dedup(argc - 1, argv + 1);
    if (!strcmp(cmd, "run"))
        return nd_cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "broker"))
        return nd_cmd_broker(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo"))
        return nd_cmd_demo(argc - 1, argv + 1);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc > 2 && !strcmp(argv[2], "--markdown"))
            nd_cli_options_markdown(stdout);
        else
            nd_main_usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("newsdedup %s\n", ND_VERSION_STR);
        return 0;
    }
    fprintf(stderr, "newsdedup: unknown command '%s'\n\n", cmd);
    nd_main_usage(stderr);
    return 2;
}
