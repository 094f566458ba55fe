# syntax=docker/dockerfile:1
# The GPU trainer app (functions/Serverless.TrainerApp) for the Container Apps GPU workload profile.
# Build from the repository root, which must be the build context (it copies shared/ and functions/):
#   docker build -f infra/docker/trainer.Dockerfile -t serverless-trainer .
#   az acr build -r <registry> -t serverless-trainer:1 -f infra/docker/trainer.Dockerfile .   (builds in Azure)
# It has never been built on the project's machines (no container engine there); tests/Serverless.Infra.Tests
# checks that every path it copies exists and that the app's project references stay inside what it copies.

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
WORKDIR /src
# global.json pins the SDK feature band; .editorconfig carries analyzer severities (warnings are errors).
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY shared/ shared/
COPY functions/ functions/
# Build outputs of a local checkout must not leak into the image build.
RUN find shared functions -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
RUN dotnet publish functions/Serverless.TrainerApp/Serverless.TrainerApp.csproj \
      -c Release -r linux-x64 --self-contained false -o /app

# Ubuntu 24.04: its libstdc++ has GLIBCXX_3.4.32, which TorchSharp's native library needs (Debian 12's does not).
# The GPU driver comes from the Container Apps GPU host; CUDA libraries come with the app's own packages.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS runtime
WORKDIR /app
COPY --from=build /app ./
COPY infra/docker/trainer.host.json ./host.json
ENV SERVERLESS_HOME=/tmp/serverless-ml
USER $APP_UID
ENTRYPOINT ["dotnet", "Serverless.TrainerApp.dll"]
CMD ["--host-json", "/app/host.json"]
