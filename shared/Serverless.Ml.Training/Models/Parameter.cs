namespace Serverless.Ml.Training.Models;

/// <summary>
/// A trainable tensor of a network: its values and the gradient of the last backward pass, both row-major in
/// the ONNX layout of the tensor (dense weights [in, out], conv weights [out, in, kH, kW]), so export and
/// checkpoints copy them as they are.
/// </summary>
public sealed class Parameter
{
    internal Parameter(string name, params int[] shape)
    {
        Name = name;
        Shape = shape;
        var size = shape.Aggregate(1, (a, b) => checked(a * b));
        Value = new float[size];
        Gradient = new float[size];
    }

    /// <summary>Unique name within the network, e.g. <c>dense0.weight</c>; used in checkpoints and ONNX initializers.</summary>
    public string Name { get; }

    /// <summary>Tensor shape.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The values (mutable: optimizers update them in place).</summary>
    public float[] Value { get; }

    /// <summary>Gradient of the loss with respect to <see cref="Value"/> from the last backward pass.</summary>
    public float[] Gradient { get; }

    /// <summary>Shape as longs, for ONNX.</summary>
    internal long[] ShapeInt64 => Shape.Select(d => (long)d).ToArray();
}
