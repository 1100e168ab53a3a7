# One Dockerfile, one target per binary:
#   docker build --target serverless-operator -t serverless-operator .
#   docker build --target function-controller -t function-controller .
#   docker build --target function-git-fetcher -t function-git-fetcher .
FROM golang:1.26 AS builder
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/...

FROM gcr.io/distroless/static:nonroot AS serverless-operator
COPY --from=builder /out/serverless-operator /serverless-operator
COPY charts/serverless /charts/serverless
USER 65532:65532
ENTRYPOINT ["/serverless-operator"]

FROM gcr.io/distroless/static:nonroot AS function-git-fetcher
COPY --from=builder /out/function-git-fetcher /function-git-fetcher
USER 1000:1000
ENTRYPOINT ["/function-git-fetcher"]

FROM gcr.io/distroless/static:nonroot AS function-controller
COPY --from=builder /out/function-controller /function-controller
USER 65532:65532
ENTRYPOINT ["/function-controller"]
