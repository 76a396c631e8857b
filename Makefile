# Pulse: build, test and demo. `make assets` fetches the front-end files
# (ECharts, pinned by web/package-lock.json) that the binary embeds.

GO_TAGS := duckdb_arrow
ECHARTS := web/static/vendor/echarts.min.js

.PHONY: assets demo test build

assets: $(ECHARTS)

# Re-copied only when missing or when the lock file changes.
$(ECHARTS): web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
	cp web/node_modules/echarts/dist/echarts.min.js $@

demo: assets
	go run -tags $(GO_TAGS) ./cmd/pulse demo

test: assets
	go test -tags $(GO_TAGS) -count=1 -timeout 20m ./...

build: assets
	go build -tags $(GO_TAGS) -o bin/pulse ./cmd/pulse
