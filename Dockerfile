# Builds the pulse binary (cgo, DuckDB linked in) and runs it on a slim
# Debian, the same base the development machines use.
# The charts library (ECharts, pinned by web/package-lock.json) comes from
# npm; the binary embeds it, so it must be in place before go build.
FROM node:22-bookworm-slim AS assets
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund \
    && mkdir -p /out && cp node_modules/echarts/dist/echarts.min.js /out/

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=assets /out/echarts.min.js web/static/vendor/echarts.min.js
RUN CGO_ENABLED=1 go build -tags duckdb_arrow -trimpath -o /out/pulse ./cmd/pulse

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/pulse pulse \
    && mkdir -p /var/lib/pulse && chown pulse /var/lib/pulse
COPY --from=build /out/pulse /usr/local/bin/pulse
COPY pulse.example.yaml /etc/pulse/pulse.yaml
USER pulse
ENV PULSE_DATA=/var/lib/pulse
VOLUME /var/lib/pulse
EXPOSE 8080
ENTRYPOINT ["pulse"]
CMD ["run", "--config", "/etc/pulse/pulse.yaml"]
