# weir, weir-cp and weir-rls in a container, built by the same command as the release tarball
# (`cargo xtask dist`: `cargo build --release` for the binaries, the filters for wasm32-wasip1).
#
#   docker build -t weir .
#   docker run --rm -p 10000:10000 -v $PWD/my-weir.yaml:/etc/weir/weir.yaml:ro weir
#
# The image runs as an unprivileged user; listeners must bind 0.0.0.0 to be reachable from
# outside the container (the default config's listener does). See docs/install.md.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN rustup target add wasm32-wasip1 \
 && cargo xtask dist --out /dist \
 && mkdir /opt/weir \
 && tar -xzf /dist/weir-*-linux.tar.gz -C /opt/weir --strip-components=1 \
 && sed -e 's|\.\./filters/|/opt/weir/filters/|' -e 's|127.0.0.1:10000|0.0.0.0:10000|' \
        /opt/weir/etc/weir.yaml > /opt/weir/etc/container.yaml

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin weir
COPY --from=build /opt/weir /opt/weir
COPY --from=build /opt/weir/etc/container.yaml /etc/weir/weir.yaml
ENV PATH=/opt/weir/bin:$PATH
USER 10001
EXPOSE 10000 9901
ENTRYPOINT ["/opt/weir/bin/weir"]
CMD ["-c", "/etc/weir/weir.yaml", "--log-format", "json"]
