using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Metadata;

/// <summary>
/// A property value, as ML Metadata's <c>Value</c>: exactly one of an integer, a double, a string or a
/// boolean. Used for artifact, execution and context properties, and by the pipeline layer for component
/// parameters, so one value type crosses the metadata store, pipeline files and activity messages.
/// JSON form is the bare primitive; a double is always written with a decimal point or exponent so that it
/// reads back as a double, not an integer.
/// </summary>
[JsonConverter(typeof(MetadataValueJsonConverter))]
public sealed record MetadataValue
{
    private MetadataValue(PropertyType type, long intValue, double doubleValue, string? stringValue, bool boolValue)
    {
        Type = type;
        IntValue = intValue;
        DoubleValue = doubleValue;
        StringValue = stringValue;
        BoolValue = boolValue;
    }

    /// <summary>Which of the value fields is set.</summary>
    public PropertyType Type { get; }

    /// <summary>The integer, when <see cref="Type"/> is <see cref="PropertyType.Int"/>.</summary>
    public long IntValue { get; }

    /// <summary>The double, when <see cref="Type"/> is <see cref="PropertyType.Double"/>.</summary>
    public double DoubleValue { get; }

    /// <summary>The string, when <see cref="Type"/> is <see cref="PropertyType.String"/>.</summary>
    public string? StringValue { get; }

    /// <summary>The boolean, when <see cref="Type"/> is <see cref="PropertyType.Boolean"/>.</summary>
    public bool BoolValue { get; }

    /// <summary>Creates an integer value.</summary>
    public static MetadataValue FromInt(long value) => new(PropertyType.Int, value, 0, null, false);

    /// <summary>Creates a double value; NaN and infinities are rejected because JSON cannot carry them.</summary>
    public static MetadataValue FromDouble(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A metadata value must be a finite number.");
        }

        return new(PropertyType.Double, 0, value, null, false);
    }

    /// <summary>Creates a string value.</summary>
    public static MetadataValue FromString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(PropertyType.String, 0, 0, value, false);
    }

    /// <summary>Creates a boolean value.</summary>
    public static MetadataValue FromBool(bool value) => new(PropertyType.Boolean, 0, 0, null, value);

    /// <summary>Converts an integer.</summary>
    public static implicit operator MetadataValue(long value) => FromInt(value);

    /// <summary>Converts a double.</summary>
    public static implicit operator MetadataValue(double value) => FromDouble(value);

    /// <summary>Converts a string.</summary>
    public static implicit operator MetadataValue(string value) => FromString(value);

    /// <summary>Converts a boolean.</summary>
    public static implicit operator MetadataValue(bool value) => FromBool(value);

    /// <summary>The value as an invariant-culture string, the way canonical JSON and logs show it.</summary>
    public override string ToString() => Type switch
    {
        PropertyType.Int => IntValue.ToString(CultureInfo.InvariantCulture),
        PropertyType.Double => FormatDouble(DoubleValue),
        PropertyType.Boolean => BoolValue ? "true" : "false",
        _ => StringValue ?? string.Empty,
    };

    /// <summary>Writes the value as a bare JSON primitive (the canonical form used in hashes).</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        switch (Type)
        {
            case PropertyType.Int:
                writer.WriteNumberValue(IntValue);
                break;
            case PropertyType.Double:
                writer.WriteRawValue(FormatDouble(DoubleValue), skipInputValidation: true);
                break;
            case PropertyType.Boolean:
                writer.WriteBooleanValue(BoolValue);
                break;
            default:
                writer.WriteStringValue(StringValue);
                break;
        }
    }

    // Round-trip format that always marks the number as a double ("1.0", not "1").
    private static string FormatDouble(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal)
            ? text
            : text + ".0";
    }
}

/// <summary>Reads and writes <see cref="MetadataValue"/> as a bare JSON primitive.</summary>
public sealed class MetadataValueJsonConverter : JsonConverter<MetadataValue>
{
    /// <inheritdoc />
    public override MetadataValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.String => MetadataValue.FromString(reader.GetString()!),
            JsonTokenType.True => MetadataValue.FromBool(true),
            JsonTokenType.False => MetadataValue.FromBool(false),
            JsonTokenType.Number when IsIntegerToken(ref reader) && reader.TryGetInt64(out var l) => MetadataValue.FromInt(l),
            JsonTokenType.Number => MetadataValue.FromDouble(reader.GetDouble()),
            _ => throw new JsonException($"A metadata value must be a string, number or boolean, not {reader.TokenType}."),
        };

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, MetadataValue value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(value);
        value.WriteTo(writer);
    }

    private static bool IsIntegerToken(ref Utf8JsonReader reader)
    {
        var span = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan.ToArray();
        return Array.IndexOf(span, (byte)'.') < 0 && Array.IndexOf(span, (byte)'e') < 0 && Array.IndexOf(span, (byte)'E') < 0;
    }
}
