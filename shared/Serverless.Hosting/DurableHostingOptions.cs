using Serverless.Hosting.Client;
using Serverless.Hosting.Configuration;

namespace Serverless.Hosting;

/// <summary>Settings of <see cref="DurableHostingServiceCollectionExtensions.AddDurableTaskHosting"/>.</summary>
public sealed class DurableHostingOptions
{
    /// <summary>host.json to read (<see cref="HostJsonReader.Load"/>). Default null: no file, every default
    /// (hub <c>TestHubName</c> on Azure Storage through <c>AzureWebJobsStorage</c>). Ignored when <see cref="Settings"/> is set.</summary>
    public string? HostJsonPath { get; set; }

    /// <summary>Settings already read (or built in code); wins over <see cref="HostJsonPath"/>. Default null.</summary>
    public DurableTaskHostSettings? Settings { get; set; }

    /// <summary>Looks up app settings such as the connection string <c>connectionStringName</c> names. Default: environment variables.</summary>
    public Func<string, string?> ReadAppSetting { get; set; } = Environment.GetEnvironmentVariable;

    /// <summary>The app's home folder for local state (Azurite's data under <c>azurite/</c>). Default
    /// <c>$SERVERLESS_HOME</c>, else <c>~/.serverless-ml</c>.</summary>
    public string HomeDirectory { get; set; } = DefaultHomeDirectory();

    /// <summary>Settings of the registered <see cref="Microsoft.DurableTask.Client.DurableTaskClient"/>.</summary>
    public DurableTaskFrameworkClientOptions Client { get; set; } = new();

    /// <summary>The settings these options select.</summary>
    public DurableTaskHostSettings ResolveSettings() =>
        Settings ?? (HostJsonPath is { } path ? HostJsonReader.Load(path) : DurableTaskHostSettings.Default());

    /// <summary><c>$SERVERLESS_HOME</c>, else <c>~/.serverless-ml</c> (the product's home folder).</summary>
    public static string DefaultHomeDirectory() =>
        Environment.GetEnvironmentVariable("SERVERLESS_HOME") is { Length: > 0 } home
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".serverless-ml");
}
