namespace Serverless.Storage;

/// <summary>
/// Blob name rules shared by every <see cref="IBlobStore"/>: '/'-separated relative names that can never
/// address anything outside the store's root. Rejected: empty names, absolute paths, backslashes, empty
/// segments ("a//b", "a/"), "." and ".." segments, control characters, names over 1024 characters (Azure's
/// limit). Spaces and any other Unicode are allowed.
/// </summary>
public static class BlobNames
{
    /// <summary>Azure Blob Storage's maximum name length.</summary>
    public const int MaxLength = 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="name"/> and the rule it breaks.</summary>
    public static void Validate(string name, string paramName = "name")
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        var problem = Problem(name);
        if (problem != null) throw new ArgumentException($"Invalid blob name '{name}': {problem}.", paramName);
    }

    /// <summary>Validates a listing prefix: empty, or a name, or a name followed by '/'.</summary>
    public static void ValidatePrefix(string prefix, string paramName = "prefix")
    {
        ArgumentNullException.ThrowIfNull(prefix, paramName);
        if (prefix.Length == 0) return;
        var problem = Problem(prefix.EndsWith('/') ? prefix[..^1] : prefix);
        if (problem != null) throw new ArgumentException($"Invalid blob name prefix '{prefix}': {problem}.", paramName);
    }

    private static string? Problem(string name)
    {
        if (name.Length == 0) return "it is empty";
        if (name.Length > MaxLength) return $"it is longer than {MaxLength} characters";
        if (name.Contains('\\', StringComparison.Ordinal)) return "it contains a backslash (use '/')";
        if (name.StartsWith('/') || Path.IsPathRooted(name) || (name.Length >= 2 && name[1] == ':' && char.IsAsciiLetter(name[0])))
            return "it is an absolute path";
        foreach (var c in name)
        {
            if (char.IsControl(c)) return "it contains a control character";
        }
        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0) return "it has an empty segment";
            if (segment == "..") return "it has a '..' segment";
            if (segment == ".") return "it has a '.' segment";
        }
        return null;
    }
}
