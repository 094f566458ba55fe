namespace Serverless.Pipelines.Hosting;

/// <summary>
/// The access key the app's HTTP APIs require (in DI), and where it came from, so in-process callers (the CLI's sample)
/// can call the app. Resolution order: <see cref="PipelineAppOptions.AccessKey"/>, the <c>SERVERLESS_ACCESS_KEY</c>
/// environment variable, else the key file <c>{home}/access-key</c> (generated on first start, mode 0600).
/// </summary>
/// <param name="Key">The key.</param>
/// <param name="FilePath">The key file, when the key came from one; null when given in options or the environment.</param>
/// <param name="Generated">True when this start generated the key.</param>
public sealed record HostAccessKey(string Key, string? FilePath, bool Generated)
{
    /// <summary>Resolves the key for <paramref name="options"/> (see the type's summary).</summary>
    /// <exception cref="InvalidDataException">The key file is empty or readable by other users.</exception>
    public static HostAccessKey Resolve(PipelineAppOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrEmpty(options.AccessKey))
        {
            return new HostAccessKey(options.AccessKey, null, false);
        }

        if (Environment.GetEnvironmentVariable(AccessKeys.EnvironmentVariable) is { Length: > 0 } fromEnvironment)
        {
            return new HostAccessKey(fromEnvironment, null, false);
        }

        var path = Path.Combine(options.HomeDirectory, AccessKeys.FileName);
        var key = AccessKeys.LoadOrCreate(path, out var created);
        return new HostAccessKey(key, path, created);
    }
}
