using Microsoft.Extensions.Logging;
using Serverless.Hosting.Configuration;

namespace Serverless.Hosting.Providers;

/// <summary>What a provider factory gets to build a provider: the host.json settings and the app's surroundings.</summary>
public sealed class DurableProviderContext
{
    /// <summary>Creates the context.</summary>
    public DurableProviderContext(DurableTaskHostSettings settings, Func<string, string?> readAppSetting, string homeDirectory, ILoggerFactory loggerFactory, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(readAppSetting);
        ArgumentException.ThrowIfNullOrWhiteSpace(homeDirectory);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(services);
        Settings = settings;
        ReadAppSetting = readAppSetting;
        HomeDirectory = homeDirectory;
        LoggerFactory = loggerFactory;
        Services = services;
    }

    /// <summary>The durable settings of host.json.</summary>
    public DurableTaskHostSettings Settings { get; }

    /// <summary>Looks up an app setting (environment variable by default), e.g. the one <c>connectionStringName</c> names.</summary>
    public Func<string, string?> ReadAppSetting { get; }

    /// <summary>The app's home folder, for local state (Azurite's data, an embedded database).</summary>
    public string HomeDirectory { get; }

    /// <summary>Logging for the provider.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The app's services, for provider-specific options registered by the app.</summary>
    public IServiceProvider Services { get; }
}
