using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Serving;
using Serverless.Storage;

namespace Serverless.ModelServer;

/// <summary>Builds the model server: Kestrel, the version manager (started with the host) and the REST API.</summary>
public static class ModelServerHost
{
    /// <summary>
    /// Builds the app. <paramref name="store"/> overrides the repository store from the options (tests pass a
    /// temp directory); <paramref name="configure"/> can map extra endpoints ahead of the API (the benchmark's
    /// HTTP floor).
    /// </summary>
    public static WebApplication Build(ModelServerOptions options, IBlobStore? store = null, Action<WebApplication>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // enforced by the handler, which answers 400 naming the limit
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(c => c.SingleLine = true);
        builder.Logging.SetMinimumLevel(options.Quiet ? LogLevel.Warning : LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        var repository = new ModelRepository(store ?? CreateStore(options), options.RepositoryPrefix);
        var manager = new ModelVersionManager(repository, options.Serving);
        builder.Services.AddSingleton(manager);
        builder.Services.AddHostedService(sp => new ManagerService(manager, sp.GetRequiredService<ILoggerFactory>().CreateLogger("ModelServer")));
        var app = builder.Build();
        configure?.Invoke(app);
        var handler = new RestApiHandler(manager, options);
        app.Run(handler.HandleAsync);
        return app;
    }

    /// <summary>The first address the started server listens on (resolves port 0), e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public static Uri GetBaseAddress(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses
            ?? throw new InvalidOperationException("The server has no addresses; start it first.");
        return new Uri(addresses.First());
    }

    private static IBlobStore CreateStore(ModelServerOptions options)
    {
        if (!string.IsNullOrEmpty(options.AzureConnectionString))
            return new AzureBlobStore(options.AzureConnectionString, options.AzureContainer);
        var dir = options.RepositoryDirectory ?? Path.Combine(
            Environment.GetEnvironmentVariable("SERVERLESS_HOME") is { Length: > 0 } home ? home : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".serverless-ml"),
            "models");
        Directory.CreateDirectory(dir);
        return new LocalDirectoryBlobStore(dir);
    }

    private sealed class ManagerService(ModelVersionManager manager, ILogger logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            manager.StateChanged += s =>
            {
                if (s.ErrorCode != "OK") logger.LogWarning("{Model} version {Version}: {State} ({Code}: {Message})", s.Model, s.Version, s.StateName, s.ErrorCode, s.ErrorMessage);
                else logger.LogInformation("{Model} version {Version}: {State}", s.Model, s.Version, s.StateName);
            };
            manager.PollFailed += e => logger.LogWarning("Polling {Repository} failed: {Error}", manager.Repository.Description, e.Message);
            await manager.StartAsync(cancellationToken);
        }

        public async Task StopAsync(CancellationToken cancellationToken) => await manager.DisposeAsync();
    }
}
