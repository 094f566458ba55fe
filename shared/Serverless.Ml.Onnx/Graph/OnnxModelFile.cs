using Google.Protobuf;
using Serverless.Ml.Onnx.Proto;

namespace Serverless.Ml.Onnx.Graph;

/// <summary>Reads and writes .onnx files (a serialized <see cref="ModelProto"/>).</summary>
public static class OnnxModelFile
{
    /// <summary>Writes the model to <paramref name="path"/> via a temporary file, so a crash never leaves half a model.</summary>
    public static void Save(ModelProto model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            File.WriteAllBytes(temp, model.ToByteArray());
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Reads a model file.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid ONNX protobuf.</exception>
    public static ModelProto Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        try
        {
            return Parse(File.ReadAllBytes(path));
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}' is not an ONNX model: {e.Message}", e);
        }
    }

    /// <summary>Parses model bytes.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a valid ONNX protobuf.</exception>
    public static ModelProto Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var model = ModelProto.Parser.ParseFrom(bytes);
            if (model.Graph is null)
                throw new InvalidDataException("The model has no graph.");
            return model;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException("Not a valid ONNX protobuf: " + e.Message, e);
        }
    }
}
