namespace Serverless.Hosting.Configuration;

/// <summary>A host.json setting is unknown or has a wrong type or value. The message names the setting and the file.</summary>
public sealed class HostJsonException : Exception
{
    /// <summary>Creates the exception: "<paramref name="source"/>: setting '<paramref name="setting"/>' <paramref name="problem"/>".</summary>
    public HostJsonException(string setting, string source, string problem, Exception? inner = null)
        : base($"{source}: setting '{setting}' {problem}", inner)
    {
        Setting = setting;
        FilePath = source;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public HostJsonException()
        : this("(unknown)", "host.json", "is invalid.")
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    public HostJsonException(string message)
        : base(message)
    {
        Setting = "(unknown)";
        FilePath = "host.json";
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public HostJsonException(string message, Exception innerException)
        : base(message, innerException)
    {
        Setting = "(unknown)";
        FilePath = "host.json";
    }

    /// <summary>The setting's path, e.g. <c>extensions.durableTask.maxConcurrentActivityFunctions</c>.</summary>
    public string Setting { get; }

    /// <summary>The file (or source name) that holds it.</summary>
    public string FilePath { get; }
}
