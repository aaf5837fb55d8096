# man: rules arrive with its issue
# aigw-plugin(3): the contract for plugin authors, with sdk/example walked through.
dist_man_MANS += man/aigw-plugin.3
# aigw(8) for operators and aigw.json(5) for the config file; tests/docs/test_docs.sh keeps
# them true to the code.
dist_man_MANS += man/aigw.8 man/aigw.json.5
