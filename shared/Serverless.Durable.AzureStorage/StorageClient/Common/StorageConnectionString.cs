namespace Serverless.Storage;

/// <summary>
/// A parsed Azure Storage connection string (<c>Key=Value;...</c>): <c>UseDevelopmentStorage=true</c>,
/// <c>AccountName</c> + <c>AccountKey</c>, <c>SharedAccessSignature</c>, explicit
/// <c>BlobEndpoint</c>/<c>QueueEndpoint</c>/<c>TableEndpoint</c>, or endpoints derived from
/// <c>DefaultEndpointsProtocol</c> (default https), <c>AccountName</c> and <c>EndpointSuffix</c>
/// (default core.windows.net). Errors name the missing or bad key and never echo secrets.
/// </summary>
public sealed class StorageConnectionString
{
    /// <summary>The development storage (Azurite default ports) account.</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    /// <summary>The publicly documented development storage key (not a secret).</summary>
    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly string[] KnownKeys =
    [
        "UseDevelopmentStorage", "DevelopmentStorageProxyUri", "DefaultEndpointsProtocol", "AccountName", "AccountKey",
        "SharedAccessSignature", "EndpointSuffix", "BlobEndpoint", "QueueEndpoint", "TableEndpoint", "FileEndpoint",
        "BlobSecondaryEndpoint", "QueueSecondaryEndpoint", "TableSecondaryEndpoint", "FileSecondaryEndpoint",
    ];

    private StorageConnectionString(string accountName, StorageSharedKeyCredential? key, string? sas, Uri? blob, Uri? queue, Uri? table)
    {
        AccountName = accountName;
        SharedKeyCredential = key;
        SharedAccessSignature = sas;
        BlobEndpoint = blob;
        QueueEndpoint = queue;
        TableEndpoint = table;
    }

    /// <summary>The account name (from AccountName, or inferred from an endpoint when only a SAS is given).</summary>
    public string AccountName { get; }

    /// <summary>The account key credential, when the string has AccountKey.</summary>
    public StorageSharedKeyCredential? SharedKeyCredential { get; }

    /// <summary>The SAS token without a leading '?', when the string has SharedAccessSignature.</summary>
    public string? SharedAccessSignature { get; }

    /// <summary>The blob service endpoint, if known.</summary>
    public Uri? BlobEndpoint { get; }

    /// <summary>The queue service endpoint, if known.</summary>
    public Uri? QueueEndpoint { get; }

    /// <summary>The table service endpoint, if known.</summary>
    public Uri? TableEndpoint { get; }

    /// <summary>Parses a connection string; throws <see cref="ArgumentException"/> naming what is missing or malformed.</summary>
    public static StorageConnectionString Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        if (string.IsNullOrWhiteSpace(connectionString))
            throw Bad("is empty; expected e.g. 'UseDevelopmentStorage=true' or 'AccountName=...;AccountKey=...'");

        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var index = 0;
        foreach (var raw in connectionString.Split(';'))
        {
            index++;
            var segment = raw.Trim();
            if (segment.Length == 0) continue;
            var eq = segment.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw Bad($"segment {index} is not of the form Key=Value");
            var key = segment[..eq].Trim();
            var value = segment[(eq + 1)..].Trim();
            if (!KnownKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
                throw Bad($"has an unknown key '{key}' (known: {string.Join(", ", KnownKeys)})");
            if (!values.TryAdd(key, value))
                throw Bad($"has the key '{key}' twice");
            if (value.Length == 0)
                throw Bad($"has an empty value for '{key}'");
        }

        if (values.TryGetValue("UseDevelopmentStorage", out var dev) && bool.TryParse(dev, out var isDev) && isDev)
        {
            return new StorageConnectionString(
                DevelopmentAccountName,
                new StorageSharedKeyCredential(DevelopmentAccountName, DevelopmentAccountKey),
                null,
                new Uri($"http://127.0.0.1:10000/{DevelopmentAccountName}"),
                new Uri($"http://127.0.0.1:10001/{DevelopmentAccountName}"),
                new Uri($"http://127.0.0.1:10002/{DevelopmentAccountName}"));
        }
        if (dev != null && !bool.TryParse(dev, out _))
            throw Bad("has UseDevelopmentStorage that is neither 'true' nor 'false'");

        values.TryGetValue("AccountName", out var accountName);
        values.TryGetValue("AccountKey", out var accountKey);
        values.TryGetValue("SharedAccessSignature", out var sas);
        if (accountKey != null && accountName == null)
            throw Bad("has AccountKey but is missing AccountName");
        if (accountKey == null && sas == null)
            throw Bad("is missing credentials: AccountKey (with AccountName) or SharedAccessSignature");

        var protocol = values.GetValueOrDefault("DefaultEndpointsProtocol", "https").ToLowerInvariant();
        if (protocol is not ("http" or "https"))
            throw Bad("has DefaultEndpointsProtocol that is neither 'http' nor 'https'");
        var suffix = values.GetValueOrDefault("EndpointSuffix", "core.windows.net");

        Uri? Endpoint(string key, string service)
        {
            if (values.TryGetValue(key, out var explicitValue))
            {
                if (!Uri.TryCreate(explicitValue, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                    throw Bad($"has {key} that is not an absolute http(s) URI");
                return uri;
            }
            return accountName == null ? null : new Uri($"{protocol}://{accountName}.{service}.{suffix}");
        }

        var blob = Endpoint("BlobEndpoint", "blob");
        var queue = Endpoint("QueueEndpoint", "queue");
        var table = Endpoint("TableEndpoint", "table");
        if (blob == null && queue == null && table == null)
            throw Bad("is missing AccountName or an explicit BlobEndpoint/QueueEndpoint/TableEndpoint");

        accountName ??= InferAccountName(blob ?? queue ?? table!);
        StorageSharedKeyCredential? credential = null;
        if (accountKey != null)
        {
            try
            {
                credential = new StorageSharedKeyCredential(accountName, accountKey);
            }
            catch (ArgumentException)
            {
                throw Bad("has an AccountKey that is not valid base64");
            }
        }
        return new StorageConnectionString(accountName, credential, sas?.TrimStart('?'), blob, queue, table);
    }

    /// <summary>The blob endpoint, or an error saying the connection string has none.</summary>
    public Uri GetRequiredBlobEndpoint() => BlobEndpoint ?? throw Bad("has no blob endpoint (BlobEndpoint or AccountName)");

    /// <summary>The queue endpoint, or an error saying the connection string has none.</summary>
    public Uri GetRequiredQueueEndpoint() => QueueEndpoint ?? throw Bad("has no queue endpoint (QueueEndpoint or AccountName)");

    /// <summary>Infers the account from <c>account.blob.core.windows.net</c> or from an IP-style path <c>/account</c>.</summary>
    internal static string InferAccountName(Uri endpoint)
    {
        var host = endpoint.Host;
        if (!System.Net.IPAddress.TryParse(host, out _) && !host.Equals("localhost", StringComparison.OrdinalIgnoreCase) && host.Contains('.', StringComparison.Ordinal))
            return host[..host.IndexOf('.', StringComparison.Ordinal)];
        var path = endpoint.AbsolutePath.Trim('/');
        return path.Length == 0 ? host : path.Split('/')[0];
    }

    private static ArgumentException Bad(string what) => new($"The storage connection string {what}.", "connectionString");
}
