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

.PHONY: all venv debs test demo bench bench-ledger bench-drivers bench-ui bench-sync soak screenshots clean

all: test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The tests need the test extras; the demo only the app (with its Kivy UI).
$(STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(DEMO_STAMP)

$(DEMO_STAMP): setup.cfg pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[ui]'
	touch $@

venv: $(STAMP)

debs:
	@scripts/ensure-debs $(DEBS)

test: debs venv
	$(PY) -m pytest

demo: debs $(DEMO_STAMP)
	$(PY) -m kiosk.demo --var var

bench: bench-ledger bench-drivers bench-ui bench-sync

bench-ledger: venv
	$(PY) bench/bench_ledger.py

bench-drivers: debs venv
	$(PY) bench/bench_drivers.py

bench-ui: debs venv
	$(PY) bench/bench_ui.py

bench-sync: debs venv
	$(PY) bench/bench_sync.py

soak: debs venv
	$(PY) -m pytest -q tests/sync/test_faults.py --soak

screenshots: debs venv
	$(PY) -m kiosk.ui.screenshots --out docs/screenshots

clean:
	rm -rf $(VENV) var *.egg-info
