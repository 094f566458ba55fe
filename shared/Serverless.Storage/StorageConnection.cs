using Azure.Core;

namespace Serverless.Storage;

/// <summary>
/// A storage "connection" resolved from app settings the way Azure Functions resolves one, for any storage service
/// (blob, queue, table): the setting <c>{name}</c> itself holds a connection string; or, for an identity-based connection
/// (no keys), <c>{name}__{service}ServiceUri</c> (or <c>__serviceUri</c>) holds the service endpoint, or
/// <c>{name}__accountName</c> the account (endpoint <c>https://{account}.{service}.core.windows.net</c>), and the token
/// comes from the given credential, else from Azure.Identity: a managed identity when <c>{name}__credential</c> is
/// <c>managedidentity</c> (user-assigned with <c>__clientId</c>), otherwise <c>DefaultAzureCredential</c>.
/// </summary>
/// <remarks>
/// Why one resolver: the artifact store (blobs) and the GPU job queue read the same <c>AzureWebJobsStorage</c>-style
/// settings, and infra/main.bicep deploys with shared keys off, so each must accept the keyless form the Functions host
/// accepts; one place keeps them in step.
/// </remarks>
public sealed class StorageConnection
{
    private StorageConnection(string name, string? connectionString, Uri? serviceUri, TokenCredential? credential)
    {
        Name = name;
        ConnectionString = connectionString;
        ServiceUri = serviceUri;
        Credential = credential;
    }

    /// <summary>The setting name it was resolved from (for messages).</summary>
    public string Name { get; }

    /// <summary>The connection string; null for an identity-based connection.</summary>
    public string? ConnectionString { get; }

    /// <summary>The service endpoint of an identity-based connection; null with a connection string.</summary>
    public Uri? ServiceUri { get; }

    /// <summary>The Entra ID credential of an identity-based connection; null with a connection string.</summary>
    public TokenCredential? Credential { get; }

    /// <summary>Resolves the connection <paramref name="name"/> for <paramref name="service"/>.</summary>
    /// <param name="name">The setting name, e.g. <c>AzureWebJobsStorage</c>.</param>
    /// <param name="getSetting">Reads an app setting (environment variable) by name.</param>
    /// <param name="service">The storage service: <c>blob</c>, <c>queue</c> or <c>table</c>.</param>
    /// <param name="credential">The credential for an identity-based connection; null = chosen from the settings as described.</param>
    /// <exception cref="InvalidOperationException">None of the settings is set, or the endpoint is not an absolute
    /// http(s) URI; the message names the settings.</exception>
    public static StorageConnection Resolve(string name, Func<string, string?> getSetting, string service, TokenCredential? credential = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(getSetting);
        ArgumentException.ThrowIfNullOrWhiteSpace(service);
        var connectionString = getSetting(name);
        if (!string.IsNullOrWhiteSpace(connectionString)) return new StorageConnection(name, connectionString, null, null);

        string? Setting(string suffix) => getSetting($"{name}__{suffix}") is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;
        var serviceKey = service + "ServiceUri";
        var serviceUri = Setting(serviceKey) ?? Setting("serviceUri");
        var accountName = Setting("accountName");
        if (serviceUri == null && accountName == null)
        {
            throw new InvalidOperationException(
                $"No storage connection '{name}': set the app setting '{name}' to a connection string (e.g. UseDevelopmentStorage=true " +
                $"for Azurite), or '{name}__{serviceKey}' (or '{name}__accountName') for an identity-based connection.");
        }

        if (!Uri.TryCreate(serviceUri ?? $"https://{accountName}.{service}.core.windows.net", UriKind.Absolute, out var endpoint) ||
            (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidOperationException(
                $"The app setting '{name}__{(serviceUri != null ? serviceKey : "accountName")}' does not give an absolute http(s) {service} endpoint: '{serviceUri ?? accountName}'.");
        }

        credential ??= string.Equals(Setting("credential"), "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new Azure.Identity.ManagedIdentityCredential(Setting("clientId") is { } clientId
                ? Azure.Identity.ManagedIdentityId.FromUserAssignedClientId(clientId)
                : Azure.Identity.ManagedIdentityId.SystemAssigned)
            : new Azure.Identity.DefaultAzureCredential();
        return new StorageConnection(name, null, endpoint, credential);
    }

    /// <summary>The URI of <paramref name="resource"/> (a container, a queue) under <see cref="ServiceUri"/>.</summary>
    /// <exception cref="InvalidOperationException">This connection is a connection string.</exception>
    public Uri ResourceUri(string resource)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(resource);
        return ServiceUri is { } uri
            ? new Uri($"{uri.AbsoluteUri.TrimEnd('/')}/{resource}")
            : throw new InvalidOperationException($"storage connection '{Name}' is a connection string, not a service endpoint");
    }
}
