namespace Serverless.Metadata;

/// <summary>Why a metadata store operation failed, for callers that react differently to each.</summary>
public enum MetadataErrorKind
{
    /// <summary>The file exists but is not a SQLite database, or is a database of something else.</summary>
    NotAMetadataDatabase,

    /// <summary>The database was written by a newer version of this software.</summary>
    NewerSchemaVersion,

    /// <summary>A referenced type, artifact, execution or context does not exist.</summary>
    NotFound,

    /// <summary>A name is already taken, or a type redefinition conflicts with the stored one.</summary>
    AlreadyExists,

    /// <summary>A property is not declared by the type, or has the wrong value type.</summary>
    InvalidProperty,
}

/// <summary>
/// A metadata store error with a message that names the file, record or property at fault. Thrown for
/// conditions the caller cannot continue past; the store is left unchanged (every write is one transaction).
/// </summary>
public sealed class MetadataStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MetadataStoreException(MetadataErrorKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    /// <summary>What went wrong.</summary>
    public MetadataErrorKind Kind { get; }
}
