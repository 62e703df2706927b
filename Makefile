# The two commands: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-app
# Debian packages the tests and the demo need (installed only when missing): a compiler and
# headers for evdev (source-only on PyPI), Xvfb and Mesa for the Kivy window, Mosquitto, the fonts
# (Noto Sans CJK, WenQuanYi as its fallback, Font Awesome for icons).
DEBS   := python3-venv python3-dev gcc linux-libc-dev xvfb xauth mosquitto fonts-noto-cjk fonts-wqy-microhei fonts-font-awesome mtools dosfstools libgl1 libgl1-mesa-dri libegl1 libusb-1.0-0 systemd
export KIVY_NO_ARGS := 1

.PHONY: all venv debs lock deb deb-cross deb-test image image-test image-test-arm64 catalogues translations test demo bench bench-ledger bench-drivers bench-ui bench-sync bench-hq bench-hq-ingest bench-feed bench-feed-heads bench-device bench-pins soak screenshots clean

all: test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The tests need the test extras; the demo only the app (with its Kivy UI).
$(STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(DEMO_STAMP)

$(DEMO_STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[kiosk]'
	touch $@

venv: $(STAMP)

debs:
	@scripts/ensure-debs $(DEBS)

# Compile the UI's catalogues (.po -> .mo); the app compiles a stale one in memory, this saves it the time.
catalogues: venv
	$(VENV)/bin/pybabel -q compile -d kiosk/ui/locale -D kiosk

# After changing texts: extract every msgid from the code and kv files, merge into each language's .po
# (new ones empty, vanished ones dropped), compile. Then translate the empty entries in zh_CN.
translations: venv
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k N_ -k n_:1,2 --no-location --omit-header -o kiosk/ui/locale/kiosk.pot .
	$(VENV)/bin/pybabel -q update -i kiosk/ui/locale/kiosk.pot -d kiosk/ui/locale -D kiosk --ignore-obsolete --no-fuzzy-matching
	$(VENV)/bin/pybabel -q compile -d kiosk/ui/locale -D kiosk

# One pytest worker per core (pytest-xdist): most of the time goes to the UI tests' Kivy windows.
test: debs venv catalogues
	$(PY) -m pytest -n auto --dist worksteal

demo: debs $(DEMO_STAMP) catalogues
	$(PY) -m kiosk.demo --var var

bench: bench-ledger bench-drivers bench-ui bench-sync bench-hq bench-feed bench-device bench-pins

bench-ledger: venv
	$(PY) bench/bench_ledger.py

bench-drivers: debs venv
	$(PY) bench/bench_drivers.py

bench-ui: debs venv
	$(PY) bench/bench_ui.py

bench-sync: debs venv
	$(PY) bench/bench_sync.py

bench-hq: debs venv
	$(PY) bench/bench_hq.py

# Head office's ingest (issue 15): one and two hubs, the bare-insert limit, and 1,000 kiosks reconnecting
# at once with a hub killed -9 mid-drain (sync/loadtool.py); PostgreSQL when reachable. 20-30 minutes on the shared VM.
bench-hq-ingest: debs venv
	$(PY) bench/bench_hq_ingest.py

# Feed records served per record ingested, store-scoped against chain-wide (in-process, a few seconds).
bench-feed: venv
	$(PY) bench/bench_feed_scope.py

# Feed-head messages per second and resends during a small storm (50 kiosks x 20, two hubs); a minute or two.
bench-feed-heads: debs venv
	$(PY) bench/bench_feed_heads.py

# SQL statements head office's ingest issues per record (each a round trip on PostgreSQL); a minute.
bench-ingest-statements: venv
	$(PY) bench/bench_ingest_statements.py

# Each service's cold start to READY=1 and memory, bytes written per 1,000 transactions (SD wear).
bench-device: debs venv
	$(PY) bench/bench_device.py

bench-pins: venv
	$(PY) bench/bench_pins.py

soak: debs venv
	$(PY) -m pytest -q tests/sync/test_faults.py --soak

screenshots: debs venv catalogues
	$(PY) -m kiosk.ui.screenshots --out docs/screenshots

# requirements/{kiosk,hq}.txt: every Python dependency of the device and of head office, pinned
# with the hashes of every platform's files (pip-tools). `make deb` installs from kiosk.txt with
# --require-hashes. Run after changing setup.cfg; commit the result.
TOOLS := build/tools
$(TOOLS)/bin/pip-compile:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q pip-tools

lock: $(TOOLS)/bin/pip-compile
	for extra in kiosk hq; do \
	  $(TOOLS)/bin/pip-compile -q --no-strip-extras --generate-hashes --allow-unsafe --no-emit-index-url \
	    --no-emit-find-links --extra $$extra -o requirements/$$extra.txt setup.cfg; done

# The Debian packages (image/deb/build-deb): store-kiosk for the device, store-kiosk-hq for head
# office, each a venv under /opt/kiosk built from the locked hashes, for this Debian release.
# deb-test installs each package into a fresh Debian 12 chroot, checks it, purges it; then builds the
# device package inside a Debian 13 chroot (its own Python) and does the same on 13.
DEB_DEBS := fakeroot dpkg-dev python3-venv python3-dev gcc linux-libc-dev mmdebstrap
deb:
	@scripts/ensure-debs $(DEB_DEBS)
	image/deb/build-deb kiosk build/deb
	image/deb/build-deb hq build/deb

deb-test: deb
	image/deb/test-deb build/deb/store-kiosk_*_$$(dpkg --print-architecture).deb bookworm
	image/deb/test-deb build/deb/store-kiosk-hq_*_$$(dpkg --print-architecture).deb bookworm
	image/deb/build-in-chroot kiosk trixie build/deb-trixie
	image/deb/test-deb build/deb-trixie/store-kiosk_*_$$(dpkg --print-architecture).deb trixie
	image/deb/build-in-chroot hq trixie build/deb-trixie
	image/deb/test-deb build/deb-trixie/store-kiosk-hq_*_$$(dpkg --print-architecture).deb trixie

# The SD image (image/build-image, docs/image.md): ARCH=arm64 for a Raspberry Pi 4/5 needs a
# store-kiosk package built for arm64; amd64 is the same system for QEMU. image-test builds the
# amd64 variant with a reporting unit, provisions it and boots it under KVM (outside make test).
# ARCH=arm64 on an amd64 machine builds the arm64 package first, in an arm64 chroot under
# qemu-user-static (deb-cross: slow, docs/image.md says how slow).
HOST_ARCH := $(shell dpkg --print-architecture)
ARCH ?= $(HOST_ARCH)
IMAGE_DEBS := mmdebstrap fdisk e2fsprogs dosfstools mtools openssl qemu-system-x86 mosquitto
CROSS_DEBS := qemu-user-static arch-test
ifeq ($(ARCH),$(HOST_ARCH))
IMAGE_PKG := deb
IMAGE_PKG_DIR := build/deb
else
IMAGE_PKG := deb-cross
IMAGE_PKG_DIR := build/deb-$(ARCH)
endif
image: $(IMAGE_PKG)
	@scripts/ensure-debs $(IMAGE_DEBS) $(if $(filter-out $(HOST_ARCH),$(ARCH)),$(CROSS_DEBS))
	scripts/ensure-binfmt $(ARCH)
	KEEP_ROOT=build/root-$(ARCH) image/build-image $(ARCH) $(IMAGE_PKG_DIR)/store-kiosk_*_$(ARCH).deb build/kiosk-$(ARCH).img

deb-cross:
	@scripts/ensure-debs $(DEB_DEBS) $(CROSS_DEBS)
	scripts/ensure-binfmt $(ARCH)
	rm -f build/deb-$(ARCH)/store-kiosk_*_$(ARCH).deb
	image/deb/build-in-chroot kiosk bookworm build/deb-$(ARCH) $(ARCH)

image-test: deb venv
	@scripts/ensure-debs $(IMAGE_DEBS)
	IMAGE_TEST=1 image/build-image amd64 build/deb/store-kiosk_*_amd64.deb build/kiosk-amd64-test.img
	image/test/boot-test build/kiosk-amd64-test.img $(VENV)/bin/kioskctl

# The Pi image's own root (kept by `make image ARCH=arm64`) with the reporting unit, booted with its
# own kernel on QEMU's generic arm64 board under TCG: slow (docs/image.md), optional.
image-test-arm64: venv
	@scripts/ensure-debs $(IMAGE_DEBS) qemu-system-arm
	IMAGE_TEST=1 REUSE_ROOT=build/root-arm64 image/build-image arm64 build/deb-arm64/store-kiosk_*_arm64.deb build/kiosk-arm64-test.img
	ARCH=arm64 BOOT_TIMEOUT=$${BOOT_TIMEOUT:-3600} image/test/boot-test build/kiosk-arm64-test.img $(VENV)/bin/kioskctl

clean:
	rm -rf $(VENV) var build *.egg-info
