# syntax=docker/dockerfile:1
# The Azure Functions app (functions/Serverless.Functions, .NET 10 isolated worker) on the Functions base image.
# Flex Consumption (infra/main.bicep) runs code packages, not containers: this image is for running the app in a
# container locally or on a plan that takes containers (Elastic Premium, Azure Container Apps).
# Build from the repository root, which must be the build context:
#   docker build -f infra/docker/functions.Dockerfile -t serverless-functions .
#   docker run -p 8080:80 -e AzureWebJobsStorage=<connection> serverless-functions
# It has never been built on the project's machines (no container engine there).

FROM mcr.microsoft.com/dotnet/sdk:10.0-noble AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY shared/ shared/
COPY functions/ functions/
RUN find shared functions -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
# The Worker SDK also builds its generated WorkerExtensions project here (it restores the host extensions).
RUN dotnet publish functions/Serverless.Functions/Serverless.Functions.csproj \
      -c Release -r linux-x64 --self-contained false -o /home/site/wwwroot

FROM mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0 AS runtime
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true
COPY --from=build /home/site/wwwroot /home/site/wwwroot
