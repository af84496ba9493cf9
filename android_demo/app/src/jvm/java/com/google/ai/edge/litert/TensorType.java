package com.google.ai.edge.litert;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/** The type of a tensor: element type and layout (a Kotlin data class). */
public final class TensorType {

  /** Data type of tensor elements. */
  public enum ElementType {
    INT,
    FLOAT,
    INT8,
    BOOLEAN,
    INT64;

    /** From the C API's LiteRtElementType, or null for a type the Kotlin enum lacks. */
    static ElementType fromC(int code) {
      switch (code) {
        case LiteRtC.ELEMENT_INT32:
          return INT;
        case LiteRtC.ELEMENT_FLOAT32:
          return FLOAT;
        case LiteRtC.ELEMENT_INT8:
          return INT8;
        case LiteRtC.ELEMENT_BOOL:
          return BOOLEAN;
        case LiteRtC.ELEMENT_INT64:
          return INT64;
        default:
          return null;
      }
    }
  }

  /** Layout of a tensor: its dimensions (and strides, when it has them). */
  public static final class Layout {
    private final List<Integer> dimensions;
    private final List<Integer> strides;

    public Layout(List<Integer> dimensions, List<Integer> strides) {
      this.dimensions = Collections.unmodifiableList(new ArrayList<>(dimensions));
      this.strides = Collections.unmodifiableList(new ArrayList<>(strides));
    }

    public final List<Integer> getDimensions() {
      return dimensions;
    }

    public final List<Integer> getStrides() {
      return strides;
    }

    public final int getRank() {
      return dimensions.size();
    }

    public final boolean getHasStrides() {
      return !strides.isEmpty();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Layout && ((Layout) o).dimensions.equals(dimensions)
          && ((Layout) o).strides.equals(strides);
    }

    @Override
    public int hashCode() {
      return Objects.hash(dimensions, strides);
    }

    @Override
    public String toString() {
      return "Layout(dimensions=" + dimensions + ", strides=" + strides + ")";
    }
  }

  private final ElementType elementType;
  private final Layout layout;

  public TensorType(ElementType elementType, Layout layout) {
    this.elementType = elementType;
    this.layout = layout;
  }

  public final ElementType getElementType() {
    return elementType;
  }

  public final Layout getLayout() {
    return layout;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorType && ((TensorType) o).elementType == elementType
        && Objects.equals(((TensorType) o).layout, layout);
  }

  @Override
  public int hashCode() {
    return Objects.hash(elementType, layout);
  }

  @Override
  public String toString() {
    return "TensorType(elementType=" + elementType + ", layout=" + layout + ")";
  }
}
