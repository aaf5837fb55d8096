# Routing examples, one config per strategy (aigw(8), ROUTING), installed read-only into
# $(sysconfdir)/aigw/examples; `aigw --check-config --config FILE` accepts each as is.
# Included from etc/local.mk.
routingexamplesdir = $(sysconfdir)/aigw/examples
dist_routingexamples_DATA = \
	etc/routing/single.json \
	etc/routing/fallback.json \
	etc/routing/loadbalance.json \
	etc/routing/least-latency.json \
	etc/routing/cost-optimized.json \
	etc/routing/conditional.json \
	etc/routing/content-based.json \
	etc/routing/ab-test.json
