# ---- operator files: sample config, sample environment, systemd unit ----------------------
# The samples are installed under their .sample names (refreshed by every install); the hook
# then copies each to its live name (aigw.json, aigw.env) only when there is no such file, so
# an install never overwrites an operator's file. Uninstall removes the samples, and a live
# copy only while it is still byte for byte the sample.
# The unit is written at install time, not build time, so that `make install prefix=DIR` and
# DESTDIR staging get the paths of that make run. systemd reads $(prefix)/lib/systemd/system
# for /usr and /usr/local; packagers pass systemdunitdir=/lib/systemd/system, or an empty
# systemdunitdir= for no unit. Hooks are hung on as prerequisites: other fragments add theirs.
aigwconfdir = $(sysconfdir)/aigw
dist_aigwconf_DATA = etc/aigw.json.sample etc/aigw.env.sample
systemdunitdir = $(prefix)/lib/systemd/system
EXTRA_DIST += etc/aigw.service.in

install-data-hook: install-etc-aigw
uninstall-hook: uninstall-etc-aigw

install-etc-aigw:
	@d='$(DESTDIR)$(aigwconfdir)'; \
	$(MKDIR_P) "$$d" || exit 1; \
	for pair in aigw.json:644 aigw.env:600; do \
	  f=$${pair%%:*}; mode=$${pair#*:}; \
	  if test -e "$$d/$$f" || test -h "$$d/$$f"; then \
	    echo "  keeping $$d/$$f (not overwritten; the new sample is $$f.sample)"; \
	  else \
	    echo " $(INSTALL) -m $$mode $(srcdir)/etc/$$f.sample '$$d/$$f'"; \
	    $(INSTALL) -m $$mode "$(srcdir)/etc/$$f.sample" "$$d/$$f" || exit 1; \
	  fi; \
	done
	@if test -n '$(systemdunitdir)'; then \
	  u='$(DESTDIR)$(systemdunitdir)/aigw.service'; \
	  echo " generating $$u"; \
	  $(MKDIR_P) '$(DESTDIR)$(systemdunitdir)' && \
	  sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    '$(srcdir)/etc/aigw.service.in' >"$$u.tmp" && \
	  chmod 644 "$$u.tmp" && mv -f "$$u.tmp" "$$u"; \
	fi

uninstall-etc-aigw:
	@d='$(DESTDIR)$(aigwconfdir)'; \
	for f in aigw.json aigw.env; do \
	  if test -f "$$d/$$f" && cmp -s "$(srcdir)/etc/$$f.sample" "$$d/$$f"; then \
	    echo " rm -f '$$d/$$f'"; rm -f "$$d/$$f"; \
	  elif test -e "$$d/$$f"; then \
	    echo "  keeping $$d/$$f (changed by the operator)"; \
	  fi; \
	done
	@if test -n '$(systemdunitdir)'; then \
	  echo " rm -f '$(DESTDIR)$(systemdunitdir)/aigw.service'"; \
	  rm -f '$(DESTDIR)$(systemdunitdir)/aigw.service'; \
	fi

.PHONY: install-etc-aigw uninstall-etc-aigw
# ---- end of operator files -----------------------------------------------------------------

# Sample Prometheus scrape job (aigw(8), METRICS).
EXTRA_DIST += etc/prometheus-scrape.yml

include etc/routing.mk
