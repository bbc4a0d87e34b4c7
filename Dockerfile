# Multi-stage build of the `verta` binary (crate `api`).
# docker build -t verta . && docker run -p 25000:25000 -e DATABASE_URL=mysql://... verta

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p api --bin verta \
 && cp target/release/verta /usr/local/bin/verta

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/verta verta
COPY --from=build /usr/local/bin/verta /usr/local/bin/verta
USER verta
WORKDIR /var/lib/verta
ENV HOST=0.0.0.0 \
    PORT=25000 \
    DATABASE_URL=sqlite:///var/lib/verta/verta.db?mode=rwc
EXPOSE 25000
ENTRYPOINT ["verta"]
CMD ["serve"]
